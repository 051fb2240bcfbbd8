import { S3Client as A, GetObjectCommand } from '@aws-sdk/client-s3'; console.log(A,GetObjectCommand)
