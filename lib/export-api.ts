// The HTTP API, the product's three doors: the account page's routes behind a JWT authorizer (an
// external OIDC issuer, or a Cognito user pool created here), support routes behind IAM, and the
// download route open to the emailed link (the signed token is the credential), all throttled and logged.
import { CfnOutput, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { CfnStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { CorsHttpMethod, HttpApi, HttpMethod, HttpStage, LogGroupLogDestination, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer, HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AccountRecovery, FeaturePlan, Mfa, UserPool } from 'aws-cdk-lib/aws-cognito';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DOWNLOAD_ROUTE, routeSpec, SUPPORT_ROUTES, USER_ROUTES, type RouteKey } from '../lambdas/core/api/routes.ts';
import type { AppConfig } from './app-config.ts';
import type { DataMapAccess } from './data-map-access.ts';
import type { ExportStorage } from './export-storage.ts';
import { HouseFunction } from './house-function.ts';
import type { JobsTable } from './jobs-table.ts';
import type { LinkSigning } from './link-signing.ts';
import type { SenderIdentity } from './sender-identity.ts';

export interface ExportApiProps {
  config: AppConfig;
  storage: ExportStorage;
  jobs: JobsTable;
  linkSigning: LinkSigning;
  dataMap: DataMapAccess;
  sender: SenderIdentity;
}

/** Requests per second for the whole API, and for the unauthenticated download route on its own. */
export const API_THROTTLE = { rateLimit: 50, burstLimit: 100 };
export const DOWNLOAD_THROTTLE = { rateLimit: 5, burstLimit: 10 };

export class ExportApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly url: string;
  readonly userApi: HouseFunction;
  readonly supportApi: HouseFunction;
  readonly download: HouseFunction;
  readonly userPool?: UserPool;

  constructor(scope: Construct, id: string, props: ExportApiProps) {
    super(scope, id);
    const { config, storage, jobs, linkSigning, dataMap, sender } = props;
    this.api = new HttpApi(this, 'HttpApi', {
      description: 'user-data-export: start, follow and download personal data exports',
      createDefaultStage: false,
      corsPreflight:
        config.allowedOrigins.length > 0
          ? {
              allowOrigins: config.allowedOrigins,
              allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.DELETE],
              allowHeaders: ['authorization', 'content-type'],
              maxAge: Duration.hours(1),
            }
          : undefined,
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.RETAIN });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: API_THROTTLE,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });
    this.url = this.api.apiEndpoint;

    let userAuthorizer: IHttpRouteAuthorizer;
    if (config.jwtIssuer && config.jwtAudience) {
      userAuthorizer = new HttpJwtAuthorizer('AccountPageJwt', config.jwtIssuer, { jwtAudience: config.jwtAudience });
    } else {
      this.userPool = new UserPool(this, 'Users', {
        selfSignUpEnabled: false,
        signInAliases: { email: true },
        passwordPolicy: { minLength: 12, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: true },
        mfa: Mfa.OPTIONAL,
        mfaSecondFactor: { otp: true, sms: false },
        featurePlan: FeaturePlan.PLUS,
        accountRecovery: AccountRecovery.EMAIL_ONLY,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      const client = this.userPool.addClient('AccountPage', { authFlows: { userSrp: true }, generateSecret: false });
      userAuthorizer = new HttpUserPoolAuthorizer('AccountPageUserPool', this.userPool, { userPoolClients: [client] });
      Validations.of(this.userPool).acknowledge({
        id: 'AwsSolutions::AwsSolutions-COG2',
        reason: 'MFA is offered (TOTP) but optional: requiring it would put a hurdle before a legal right of access; exports go only to the address on file.',
      });
      new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: client.userPoolClientId });
    }

    // Both APIs start, resend (a new signed link by email) and cancel exports (ExecutionEnded then removes
    // the cancelled export's staging, so the API never runs a cleanup of unbounded size).
    const apiFunction = (name: string, handler: string, description: string) => {
      const fn = new HouseFunction(this, name, {
        handler,
        description,
        dataMapFile: dataMap.dataMapFile,
        environment: {
          RETENTION_DAYS: String(config.retentionDays),
          RESPONSE_DAYS: String(config.responseDays),
          COOLDOWN_HOURS: String(config.cooldownHours),
          LINK_TTL_HOURS: String(config.linkLifetimeHours),
          PUBLIC_BASE_URL: this.url,
        },
      });
      // start (job, lock, audit), follow (history by the index), resend and cancel.
      jobs.grant(fn, { items: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'], queryHistory: true, queryQueue: true });
      linkSigning.grantSign(fn);
      sender.grantSend(fn);
      return fn;
    };
    this.userApi = apiFunction('UserApi', 'user-api', 'Account page API: a user starts, follows, resends and cancels their own exports');
    this.supportApi = apiFunction('SupportApi', 'support-api', 'Support API: an agent acts on exports for a customer, with a reason');
    // Support also reads a customer's audit trail, and checks that the customer exists before starting.
    jobs.grant(this.supportApi, { items: [], queryAudit: true });
    dataMap.grantAccountLookup(this.supportApi);

    this.download = new HouseFunction(this, 'Download', {
      handler: 'download',
      description: 'Verifies an emailed link and redirects to a presigned archive URL valid 60 seconds',
      environment: { RETENTION_DAYS: String(config.retentionDays) },
    });
    // the job, EXPIRED when past retention, the download count and its audit event.
    jobs.grant(this.download, { items: ['GetItem', 'UpdateItem', 'PutItem'] });
    storage.grantArchiveRead(this.download);
    linkSigning.grantVerify(this.download);

    const user = new HttpLambdaIntegration('UserIntegration', this.userApi);
    const support = new HttpLambdaIntegration('SupportIntegration', this.supportApi);
    const iam = new HttpIamAuthorizer();
    const route = (key: RouteKey) => ({ path: routeSpec(key).path, methods: [HttpMethod[routeSpec(key).method]] });
    for (const key of USER_ROUTES) this.api.addRoutes({ ...route(key), integration: user, authorizer: userAuthorizer });
    for (const key of SUPPORT_ROUTES) this.api.addRoutes({ ...route(key), integration: support, authorizer: iam });
    const [downloadRoute] = this.api.addRoutes({
      ...route(DOWNLOAD_ROUTE),
      integration: new HttpLambdaIntegration('DownloadIntegration', this.download),
    });
    if (downloadRoute) {
      // The download route takes no credentials but a token; a tighter limit there slows token guessing.
      const cfnStage = this.stage.node.defaultChild as CfnStage;
      // routeSettings is untyped: CloudFormation's own (PascalCase) property names are required here.
      cfnStage.routeSettings = {
        [DOWNLOAD_ROUTE]: { ThrottlingRateLimit: DOWNLOAD_THROTTLE.rateLimit, ThrottlingBurstLimit: DOWNLOAD_THROTTLE.burstLimit },
      };
      // API Gateway refuses RouteSettings for a route that does not exist yet, and nothing else orders the
      // stage after the route: without this, CloudFormation may create the stage first and fail the deploy.
      this.stage.node.addDependency(downloadRoute);
      Validations.of(downloadRoute).acknowledge({
        id: 'AwsSolutions::AwsSolutions-APIG4',
        reason: 'The emailed link must open in any browser without signing in: its HMAC-signed token is the credential, verified on every request, and the route is throttled.',
      });
    }
  }
}
