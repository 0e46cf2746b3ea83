/** Reading a Lambda's environment once, with errors that name the variable. */

/** Thrown at cold start when a required environment variable is missing. */
export class MissingEnvironmentError extends Error {
  constructor(name: string) {
    super(`${name} environment variable is not set`);
    this.name = 'MissingEnvironmentError';
  }
}

/** The value of `name`, or a `MissingEnvironmentError`. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new MissingEnvironmentError(name);
  return value;
}
