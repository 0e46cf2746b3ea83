/**
 * Lambda function URLs in the rehearsal: a request to `<base>/<Url logical
 * id>/...` is authorised by the function's resource policy as AWS does for
 * `AuthType: NONE` (`lambda:InvokeFunctionUrl` with the auth type, and
 * `lambda:InvokeFunction` via the URL), turned into a payload 2.0 event, and
 * the function's result into the HTTP response.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AwsEndpoint } from './aws-endpoint.ts';
import { type DeployedAssembly, resourcesOfType } from './cloudformation.ts';
import { authorize, type Caller, type Statement } from './iam.ts';
import type { RehearsalFunction } from './lambda-functions.ts';

/** What a function URL answers, from the function's result. */
export interface FunctionUrlResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** What serving a function URL needs from the stage. */
export interface FunctionUrlDeps {
  assembly: DeployedAssembly;
  baseUrl: string;
  endpoint: AwsEndpoint;
  functionByNameOrArn(nameOrArn: string): RehearsalFunction;
  resourcePolicy(arn: string): Statement[];
  maxInstances: number;
}

/** Serves a function URL request as Lambda does: resource policy first, then a 2.0 event. */
export async function serveFunctionUrl(
  request: IncomingMessage,
  deps: FunctionUrlDeps,
): Promise<{ statusCode: number; headers: Record<string, string>; body: string | Buffer }> {
  const url = new URL(request.url ?? '/', deps.baseUrl);
  const [, urlId = '', ...rest] = url.pathname.split('/');
  const urlResource = resourcesOfType(deps.assembly, 'AWS::Lambda::Url').find(
    (u) => u.logicalId === urlId,
  );
  if (!urlResource) return { statusCode: 404, headers: {}, body: 'no such function URL\n' };
  const fnArn = String(urlResource.properties.TargetFunctionArn);
  const fn = deps.functionByNameOrArn(fnArn);
  const anonymous: Caller = { principal: '*', policies: [] };
  const authType = String(urlResource.properties.AuthType);
  for (const [action, context] of [
    ['lambda:InvokeFunctionUrl', { 'lambda:FunctionUrlAuthType': authType }],
    ['lambda:InvokeFunction', { 'lambda:InvokedViaFunctionUrl': 'true' }],
  ] as const) {
    const decision = authorize(
      anonymous,
      { action, resource: fnArn, context },
      deps.resourcePolicy(fnArn),
    );
    deps.endpoint.recordExternal({
      caller: `${fn.name} function URL (anonymous)`,
      action,
      resource: fnArn,
      allowed: decision.allowed,
      ...(decision.allowed ? {} : { message: decision.message }),
    });
    if (!decision.allowed)
      return {
        statusCode: 403,
        headers: { 'Content-Type': 'application/json' },
        body: '{"Message":"Forbidden"}',
      };
  }
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([k, v]) => [
      k,
      Array.isArray(v) ? v.join(',') : (v ?? ''),
    ]),
  );
  const now = new Date();
  const path = `/${rest.join('/')}`;
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.search ? { queryStringParameters: Object.fromEntries(url.searchParams) } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: urlId,
      domainName: url.host,
      domainPrefix: urlId,
      http: {
        method: request.method ?? 'GET',
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0
      ? { body: body.toString('base64'), isBase64Encoded: true }
      : { isBase64Encoded: false }),
  };
  const result = await fn.invoke(event, 'function URL', deps.maxInstances);
  if (!result.ok)
    return {
      statusCode: 502,
      headers: { 'Content-Type': 'application/json' },
      body: '{"Message":"Internal Server Error"}',
    };
  const value = result.result as
    | {
        statusCode?: number;
        headers?: Record<string, string>;
        body?: string;
        isBase64Encoded?: boolean;
      }
    | string
    | null;
  if (value === null || typeof value !== 'object' || value.statusCode === undefined) {
    return {
      statusCode: 200,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(value),
    };
  }
  return {
    statusCode: value.statusCode,
    headers: value.headers ?? {},
    body: value.isBase64Encoded ? Buffer.from(value.body ?? '', 'base64') : (value.body ?? ''),
  };
}
