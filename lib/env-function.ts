// A function that constructs can hand configuration to: an IFunction with addEnvironment (a Lambda
// Function, or a NodejsFunction). Each construct that grants a function access also tells it where.
import type { IFunction } from 'aws-cdk-lib/aws-lambda';

export type EnvFunction = IFunction & { addEnvironment(key: string, value: string): unknown };
