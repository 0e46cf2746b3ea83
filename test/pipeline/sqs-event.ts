import type { SQSEvent } from 'aws-lambda';

/** An SQS event as Lambda delivers it, one record per message (a body that is not a string is sent as JSON). */
export function sqsEvent(...messages: { messageId: string; body: unknown }[]): SQSEvent {
  return {
    Records: messages.map(({ messageId, body }) => ({
      messageId,
      receiptHandle: `receipt-${messageId}`,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:queue',
      awsRegion: 'eu-west-1',
    })),
  };
}
