/**
 * AWS's permission rules, as the rehearsal enforces them on every call: the
 * identity policies of the caller's role (`AWS::IAM::Policy` and inline
 * policies of the template), the resource policies of what it calls (queue
 * policies, Lambda permissions), an explicit deny over any allow, and within
 * one account an allow from either side. Actions match case-insensitively
 * with `*` and `?`; resource ARNs match segment by segment, the resource part
 * with wildcards spanning `/` and `:` as IAM's do. Conditions are evaluated
 * with the operators the templates use; one the rehearsal cannot evaluate
 * does not hold (a deny it guards does not apply, an allow does not allow).
 *
 * Every allow statement keeps which of its (action, resource) grants a call
 * used, so that the report can list the grants nothing used.
 */
import { ACCOUNT_ID } from './cloudformation.ts';

export type Effect = 'Allow' | 'Deny';

/** One statement of a policy, intrinsics already resolved. */
export interface Statement {
  effect: Effect;
  actions: string[];
  notActions?: string[];
  resources: string[];
  notResources?: string[];
  /** Operator → key → values. */
  condition?: Record<string, Record<string, string[]>>;
  /** Resource policies only: who the statement is about. */
  principals?: { aws: string[]; service: string[] } | '*';
  /** Where the statement comes from, for the report (`PollerRoleDefaultPolicy…`). */
  source: string;
}

/** Who calls: a role assumed by a function, or a service acting on its own. */
export interface Caller {
  /** `arn:aws:iam::<account>:role/<name>`, or a service principal such as `scheduler.amazonaws.com`. */
  principal: string;
  /** The identity policies of the caller (none for a service principal). */
  policies: Statement[];
}

/** One request to authorise. */
export interface Request {
  action: string;
  resource: string;
  /** Condition keys of the request (`aws:SecureTransport`, `lambda:FunctionUrlAuthType`, ...). */
  context?: Record<string, string>;
}

export type Decision =
  | { allowed: true; by: Statement[] }
  | {
      allowed: false;
      reason: 'explicit-deny-identity' | 'explicit-deny-resource' | 'no-allow';
      message: string;
    };

function toList(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function globToRegExp(pattern: string, flags: string): RegExp {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, flags);
}

const patternCache = new Map<string, RegExp>();
function glob(pattern: string, value: string, ignoreCase: boolean): boolean {
  const key = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let regExp = patternCache.get(key);
  if (!regExp) {
    regExp = globToRegExp(pattern, ignoreCase ? 'i' : '');
    patternCache.set(key, regExp);
  }
  return regExp.test(value);
}

/** Whether `pattern` (an action of a policy) covers `action`. */
export function actionMatches(pattern: string, action: string): boolean {
  return glob(pattern, action, true);
}

/**
 * Whether `pattern` (a resource of a policy) covers the ARN `resource`.
 * Wildcards stay within an ARN segment, except a `*` that ends a segment,
 * which may match beyond the colons (IAM's documented rule, which makes
 * `arn:aws:sqs:us-east-1:*` cover every queue of the region).
 */
export function resourceMatches(pattern: string, resource: string): boolean {
  if (pattern === '*') return true;
  let regExp = patternCache.get(`r${pattern}`);
  if (!regExp) {
    let source = '';
    for (let i = 0; i < pattern.length; i += 1) {
      const c = pattern.charAt(i);
      const next = pattern.charAt(i + 1);
      if (c === '*') source += next === ':' || next === '' ? '.*' : '[^:]*';
      else if (c === '?') source += '[^:]';
      else source += c.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
    }
    regExp = new RegExp(`^${source}$`);
    patternCache.set(`r${pattern}`, regExp);
  }
  return regExp.test(resource);
}

/** Reads the statements of a policy document from a template. */
export function statementsOf(document: unknown, source: string): Statement[] {
  const raw = (document as { Statement?: unknown } | undefined)?.Statement;
  const list = (Array.isArray(raw) ? raw : raw ? [raw] : []) as Array<Record<string, unknown>>;
  return list.map((statement) => {
    const principal = statement.Principal as
      | string
      | { AWS?: unknown; Service?: unknown }
      | undefined;
    const condition = statement.Condition as Record<string, Record<string, unknown>> | undefined;
    return {
      effect: statement.Effect === 'Deny' ? 'Deny' : 'Allow',
      actions: toList(statement.Action),
      ...(statement.NotAction !== undefined ? { notActions: toList(statement.NotAction) } : {}),
      resources: toList(statement.Resource),
      ...(statement.NotResource !== undefined
        ? { notResources: toList(statement.NotResource) }
        : {}),
      ...(condition
        ? {
            condition: Object.fromEntries(
              Object.entries(condition).map(([operator, keys]) => [
                operator,
                Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, toList(v)])),
              ]),
            ),
          }
        : {}),
      ...(principal !== undefined
        ? {
            principals:
              typeof principal === 'string'
                ? ('*' as const)
                : { aws: toList(principal.AWS), service: toList(principal.Service) },
          }
        : {}),
      source,
    };
  });
}

const CONDITION_OPERATORS: Record<string, (actual: string, expected: string) => boolean> = {
  StringEquals: (a, e) => a === e,
  StringNotEquals: (a, e) => a !== e,
  StringEqualsIgnoreCase: (a, e) => a.toLowerCase() === e.toLowerCase(),
  StringLike: (a, e) => glob(e, a, false),
  StringNotLike: (a, e) => !glob(e, a, false),
  ArnEquals: (a, e) => a === e,
  ArnLike: (a, e) => resourceMatches(e, a),
  ArnNotEquals: (a, e) => a !== e,
  ArnNotLike: (a, e) => !resourceMatches(e, a),
  Bool: (a, e) => a.toLowerCase() === e.toLowerCase(),
};

/** Whether every condition of the statement holds for the request. */
function conditionsHold(statement: Statement, context: Record<string, string>): boolean {
  for (const [rawOperator, keys] of Object.entries(statement.condition ?? {})) {
    const ifExists = rawOperator.endsWith('IfExists');
    const operator = rawOperator.replace(/IfExists$/, '').replace(/^For(Any|All)Value:/, '');
    const test = CONDITION_OPERATORS[operator];
    for (const [key, expected] of Object.entries(keys)) {
      const actual = Object.entries(context).find(
        ([k]) => k.toLowerCase() === key.toLowerCase(),
      )?.[1];
      if (actual === undefined) {
        if (ifExists) continue;
        // A negated operator holds for an absent key, as IAM evaluates it.
        if (operator.includes('Not')) continue;
        return false;
      }
      if (!test) return false;
      const negated = operator.includes('Not');
      const holds = negated
        ? expected.every((value) => test(actual, value))
        : expected.some((value) => test(actual, value));
      if (!holds) return false;
    }
  }
  return true;
}

function principalMatches(statement: Statement, principal: string): boolean {
  const principals = statement.principals;
  if (principals === undefined || principals === '*') return true;
  if (principals.service.includes(principal)) return true;
  return principals.aws.some(
    (p) =>
      p === '*' || p === principal || p === ACCOUNT_ID || p === `arn:aws:iam::${ACCOUNT_ID}:root`,
  );
}

/** Whether the statement applies to the request (action, resource, conditions). */
function applies(statement: Statement, request: Request, context: Record<string, string>): boolean {
  const actionCovered = statement.notActions
    ? !statement.notActions.some((p) => actionMatches(p, request.action))
    : statement.actions.some((p) => actionMatches(p, request.action));
  if (!actionCovered) return false;
  const resourceCovered = statement.notResources
    ? !statement.notResources.some((p) => resourceMatches(p, request.resource))
    : statement.resources.some((p) => resourceMatches(p, request.resource));
  return resourceCovered && conditionsHold(statement, context);
}

/** The message AWS gives for a denied call. */
function denial(caller: Caller, request: Request, because: string): string {
  return `User: ${caller.principal} is not authorized to perform: ${request.action} on resource: ${request.resource} ${because}`;
}

/**
 * Decides a request as IAM does within one account: an explicit deny in any
 * applicable policy denies; otherwise an allow in the caller's identity
 * policies or in the resource's policy allows; otherwise it is denied.
 */
export function authorize(
  caller: Caller,
  request: Request,
  resourcePolicy: Statement[] = [],
): Decision {
  const context = { 'aws:PrincipalArn': caller.principal, ...request.context };
  const identity = caller.policies.filter((s) => applies(s, request, context));
  const resource = resourcePolicy.filter(
    (s) => principalMatches(s, caller.principal) && applies(s, request, context),
  );
  if (identity.some((s) => s.effect === 'Deny')) {
    return {
      allowed: false,
      reason: 'explicit-deny-identity',
      message: denial(caller, request, 'with an explicit deny in an identity-based policy'),
    };
  }
  if (resource.some((s) => s.effect === 'Deny')) {
    return {
      allowed: false,
      reason: 'explicit-deny-resource',
      message: denial(caller, request, 'with an explicit deny in a resource-based policy'),
    };
  }
  const allows = [...identity, ...resource].filter((s) => s.effect === 'Allow');
  if (allows.length > 0) return { allowed: true, by: allows };
  return {
    allowed: false,
    reason: 'no-allow',
    message: denial(
      caller,
      request,
      `because no identity-based policy allows the ${request.action} action`,
    ),
  };
}

/** The (action, resource) grants of allow statements, and which of them a call used. */
export class GrantUsage {
  private readonly used = new Set<string>();

  /** Records that `request`, allowed by `statements`, used their matching grants. */
  record(request: Request, statements: Statement[]): void {
    for (const statement of statements) {
      for (const action of statement.actions) {
        if (!actionMatches(action, request.action)) continue;
        for (const resource of statement.resources) {
          if (resourceMatches(resource, request.resource)) {
            this.used.add(GrantUsage.key(statement, action, resource));
          }
        }
      }
    }
  }

  /** The grants of `statements` (allow only) that no recorded call used. */
  unused(statements: Statement[]): Array<{ source: string; action: string; resource: string }> {
    const unused: Array<{ source: string; action: string; resource: string }> = [];
    for (const statement of statements) {
      if (statement.effect !== 'Allow') continue;
      for (const action of statement.actions) {
        for (const resource of statement.resources) {
          if (!this.used.has(GrantUsage.key(statement, action, resource))) {
            unused.push({ source: statement.source, action, resource });
          }
        }
      }
    }
    return unused;
  }

  private static key(statement: Statement, action: string, resource: string): string {
    return `${statement.source}\u0000${action}\u0000${resource}`;
  }
}
