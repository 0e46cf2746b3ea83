import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerSecretResolver } from '../../shared/adapters/secrets-manager.ts';

/** Answers GetSecretValue like Secrets Manager: the value, or ResourceNotFoundException. */
const values = new Map([['wirewatch/test/SLACK_WEBHOOK_URL', 'https://hooks.example/T/B/x']]);
let server: Server;
let client: SecretsManagerClient;
const requested: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      requested.push(SecretId);
      const value = values.get(SecretId);
      if (SecretId.endsWith('BROKEN')) {
        response.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify({ __type: 'InternalServiceError', message: 'boom' }));
        return;
      }
      response.writeHead(value ? 200 : 400, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify(
          value
            ? { Name: SecretId, SecretString: value }
            : {
                __type: 'ResourceNotFoundException',
                message: "Secrets Manager can't find the specified secret value",
              },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new SecretsManagerClient({
    region: 'eu-west-1',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('SecretsManagerSecretResolver', () => {
  it('reads the config secret NAME from the secret <prefix>NAME', async () => {
    const secrets = new SecretsManagerSecretResolver(client, 'wirewatch/test/');

    const value = await secrets.resolve('SLACK_WEBHOOK_URL');

    expect(value).toBe('https://hooks.example/T/B/x');
    expect(requested.at(-1)).toBe('wirewatch/test/SLACK_WEBHOOK_URL');
  });

  it('treats a secret without a value as not set', async () => {
    const secrets = new SecretsManagerSecretResolver(client, 'wirewatch/test/');

    expect(await secrets.resolve('SMTP_PASSWORD')).toBeUndefined();
  });

  it('names the secret, not its value, when Secrets Manager fails', async () => {
    const secrets = new SecretsManagerSecretResolver(client, 'wirewatch/test/');

    await expect(secrets.resolve('BROKEN')).rejects.toThrow(
      'could not read secret wirewatch/test/BROKEN from Secrets Manager (InternalServiceError)',
    );
  });
});
