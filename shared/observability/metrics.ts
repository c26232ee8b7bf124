import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * The one Metrics instance (CloudWatch embedded metric format, namespace and
 * service from POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME).
 * Dimensions are the service only: never a batch, person or payment id.
 */
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'SocialPayments', serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'social-payments' });
