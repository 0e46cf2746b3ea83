/**
 * What CloudFormation would make of a cloud assembly, offline: the stacks of
 * `manifest.json` in dependency order, every resource given the physical name
 * and attributes CloudFormation would give it (in one fake account and
 * region), and the intrinsic functions of the templates (`Ref`,
 * `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::ImportValue`, ...) resolved
 * against them. The rehearsal builds its local resources from this model and
 * nothing else, so what it runs is what `cdk deploy` would deploy.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ACCOUNT_ID = '123456789012';
export const REGION = 'us-east-1';
export const PARTITION = 'aws';

/** Thrown for an assembly the rehearsal cannot read or a template construct it does not know. */
export class AssemblyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssemblyError';
  }
}

/** One resource of a template, with what CloudFormation would answer for `Ref` and `Fn::GetAtt`. */
export interface DeployedResource {
  stackName: string;
  logicalId: string;
  type: string;
  /** The template's properties, intrinsics resolved. */
  properties: Record<string, unknown>;
  /** What `Ref` returns. */
  ref: string;
  /** What `Fn::GetAtt` returns, by attribute name. */
  attributes: Record<string, string>;
  /** The directory of the resource's bundled code in the assembly (from the asset manifest). */
  assetPath?: string;
  /** `aws:cdk:path` of the resource's metadata (`WirewatchDevService/Poller/Function/Resource`). */
  cdkPath?: string;
}

/** The stacks of an assembly as they would be deployed. */
export interface DeployedAssembly {
  directory: string;
  stackNames: string[];
  resources: DeployedResource[];
  /** Outputs by stack name, then output key. */
  outputs: Record<string, Record<string, string>>;
}

interface Template {
  Parameters?: Record<string, { Default?: unknown }>;
  Resources?: Record<string, TemplateResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
}

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

interface ManifestArtifact {
  type: string;
  properties?: { templateFile?: string; stackName?: string };
  dependencies?: string[];
  displayName?: string;
}

/** A CloudFormation-style unique suffix: 12 characters, stable for a stack and logical id. */
function suffix(stackName: string, logicalId: string): string {
  return createHash('sha256')
    .update(`${stackName}/${logicalId}`)
    .digest('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 12)
    .toUpperCase();
}

/** The name CloudFormation generates for a resource created without one, cut to `max`. */
function generatedName(stackName: string, logicalId: string, max: number): string {
  const tail = `-${suffix(stackName, logicalId)}`;
  return `${stackName}-${logicalId}`.slice(0, max - tail.length) + tail;
}

function arn(service: string, resource: string, region = REGION): string {
  return `arn:${PARTITION}:${service}:${region}:${ACCOUNT_ID}:${resource}`;
}

export interface LocalAddresses {
  /** Base URL of the local SQS endpoint; queue URLs are `<base>/<account>/<name>`. */
  sqsBaseUrl: string;
  /** Base URL of the local function URL server; each function URL is `<base>/<logical id>/`. */
  functionUrlBaseUrl: string;
}

/**
 * Ref and attributes of a resource, by type, as CloudFormation documents them.
 * Local endpoints replace AWS's where a value is an address.
 */
function identify(
  stackName: string,
  logicalId: string,
  resource: TemplateResource,
  addresses: LocalAddresses,
  resolvedName: (key: string) => string | undefined,
): Pick<DeployedResource, 'ref' | 'attributes'> {
  const named = (key: string, max: number) =>
    resolvedName(key) ?? generatedName(stackName, logicalId, max);
  switch (resource.Type) {
    case 'AWS::DynamoDB::Table': {
      const name = named('TableName', 255);
      const tableArn = arn('dynamodb', `table/${name}`);
      return { ref: name, attributes: { Arn: tableArn, StreamArn: `${tableArn}/stream/local` } };
    }
    case 'AWS::SQS::Queue': {
      const name = named('QueueName', 80);
      const url = `${addresses.sqsBaseUrl}/${ACCOUNT_ID}/${name}`;
      return { ref: url, attributes: { Arn: arn('sqs', name), QueueName: name, QueueUrl: url } };
    }
    case 'AWS::SecretsManager::Secret': {
      const name = named('Name', 256);
      const secretArn = arn('secretsmanager', `secret:${name}-${suffix(name, 'arn').slice(0, 6)}`);
      return { ref: secretArn, attributes: { Id: secretArn } };
    }
    case 'AWS::Lambda::Function': {
      const name = named('FunctionName', 64);
      return { ref: name, attributes: { Arn: arn('lambda', `function:${name}`) } };
    }
    case 'AWS::Lambda::Url':
      // Addressed by the URL's own logical id: its target is resolved later.
      return {
        ref: logicalId,
        attributes: { FunctionUrl: `${addresses.functionUrlBaseUrl}/${logicalId}/` },
      };
    case 'AWS::IAM::Role': {
      const name = named('RoleName', 64);
      return {
        ref: name,
        attributes: { Arn: `arn:${PARTITION}:iam::${ACCOUNT_ID}:role/${name}`, RoleId: name },
      };
    }
    case 'AWS::Logs::LogGroup': {
      const name = named('LogGroupName', 512);
      return { ref: name, attributes: { Arn: arn('logs', `log-group:${name}:*`) } };
    }
    case 'AWS::SNS::Topic': {
      const name = named('TopicName', 256);
      const topicArn = arn('sns', name);
      return { ref: topicArn, attributes: { TopicArn: topicArn, TopicName: name } };
    }
    case 'AWS::SSM::Parameter': {
      const name = named('Name', 2048);
      return { ref: name, attributes: { Type: 'String', Value: '' } };
    }
    case 'AWS::Scheduler::Schedule': {
      const name = named('Name', 64);
      return { ref: name, attributes: { Arn: arn('scheduler', `schedule/default/${name}`) } };
    }
    case 'AWS::CloudWatch::Alarm': {
      const name = named('AlarmName', 255);
      return { ref: name, attributes: { Arn: arn('cloudwatch', `alarm:${name}`) } };
    }
    default: {
      const name = generatedName(stackName, logicalId, 128);
      return { ref: name, attributes: { Arn: arn('unknown', name) } };
    }
  }
}

/** Resolves the intrinsic functions of one template. */
class Resolver {
  constructor(
    private readonly stackName: string,
    private readonly template: Template,
    private readonly resources: Map<string, DeployedResource>,
    private readonly exports: Map<string, string>,
  ) {}

  resolve(value: unknown, path: string): unknown {
    if (Array.isArray(value)) return value.map((v, i) => this.resolve(v, `${path}[${i}]`));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    const [first] = entries;
    if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
      return this.intrinsic(first[0], first[1], path);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v, `${path}.${k}`)]));
  }

  private string(value: unknown, path: string): string {
    const resolved = this.resolve(value, path);
    if (typeof resolved !== 'string' && typeof resolved !== 'number') {
      throw new AssemblyError(
        `${this.stackName} ${path}: expected a string, got ${JSON.stringify(resolved)}`,
      );
    }
    return String(resolved);
  }

  private ref(name: string, path: string): string {
    const pseudo: Record<string, string> = {
      'AWS::AccountId': ACCOUNT_ID,
      'AWS::Region': REGION,
      'AWS::Partition': PARTITION,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': this.stackName,
      'AWS::StackId': arn('cloudformation', `stack/${this.stackName}/local`),
      'AWS::NoValue': '',
    };
    if (pseudo[name] !== undefined) return pseudo[name];
    const parameter = this.template.Parameters?.[name];
    if (parameter) return String(parameter.Default ?? '');
    const resource = this.resources.get(name);
    if (!resource) throw new AssemblyError(`${this.stackName} ${path}: Ref to unknown ${name}`);
    return resource.ref;
  }

  private getAtt(logicalId: string, attribute: string, path: string): string {
    const resource = this.resources.get(logicalId);
    const value = resource?.attributes[attribute];
    if (value === undefined) {
      throw new AssemblyError(
        `${this.stackName} ${path}: Fn::GetAtt ${logicalId}.${attribute} is not known to the rehearsal`,
      );
    }
    return value;
  }

  private intrinsic(name: string, argument: unknown, path: string): unknown {
    switch (name) {
      case 'Ref':
        return this.ref(String(argument), path);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(argument)
          ? argument.map(String)
          : String(argument).split(/\.(.*)/s);
        return this.getAtt(logicalId ?? '', attribute ?? '', path);
      }
      case 'Fn::Join': {
        const [separator, parts] = argument as [string, unknown[]];
        const list = this.resolve(parts, path) as unknown[];
        return list.map((part) => String(part)).join(separator);
      }
      case 'Fn::Sub': {
        const [text, variables] = Array.isArray(argument)
          ? (argument as [string, Record<string, unknown>])
          : [String(argument), {}];
        return text.replace(/\$\{([^}!][^}]*)\}/g, (_match, key: string) => {
          if (Object.hasOwn(variables, key)) return this.string(variables[key], `${path}.${key}`);
          const [logicalId, attribute] = key.split(/\.(.*)/s);
          return attribute
            ? this.getAtt(logicalId ?? '', attribute, path)
            : this.ref(logicalId ?? '', path);
        });
      }
      case 'Fn::ImportValue': {
        const exportName = this.string(argument, path);
        const value = this.exports.get(exportName);
        if (value === undefined) {
          throw new AssemblyError(`${this.stackName} ${path}: no stack exports ${exportName}`);
        }
        return value;
      }
      case 'Fn::Select': {
        const [index, list] = argument as [unknown, unknown];
        return (this.resolve(list, path) as unknown[])[Number(this.resolve(index, path))];
      }
      case 'Fn::Split': {
        const [separator, text] = argument as [string, unknown];
        return this.string(text, path).split(separator);
      }
      case 'Fn::Base64':
        return Buffer.from(this.string(argument, path)).toString('base64');
      default:
        throw new AssemblyError(
          `${this.stackName} ${path}: ${name} is not supported by the rehearsal`,
        );
    }
  }
}

/** Stack artifacts of a manifest, each after the stacks it depends on. */
function stacksInOrder(artifacts: Record<string, ManifestArtifact>): string[] {
  const stacks = Object.entries(artifacts).filter(([, a]) => a.type === 'aws:cloudformation:stack');
  const ids = new Set(stacks.map(([id]) => id));
  const ordered: string[] = [];
  const visit = (id: string, trail: string[]): void => {
    if (ordered.includes(id)) return;
    if (trail.includes(id))
      throw new AssemblyError(`stacks depend on each other: ${trail.join(' -> ')}`);
    for (const dependency of artifacts[id]?.dependencies ?? []) {
      if (ids.has(dependency)) visit(dependency, [...trail, id]);
    }
    ordered.push(id);
  };
  for (const [id] of stacks) visit(id, []);
  return ordered;
}

/**
 * Where the stack's file assets are in the assembly, by the S3 object key a
 * template refers to them with (`<hash>.zip` -> `asset.<hash>`).
 */
function assetsOf(
  directory: string,
  artifacts: Record<string, ManifestArtifact>,
  stack: ManifestArtifact,
): Map<string, string> {
  const files = new Map<string, string>();
  for (const dependency of stack.dependencies ?? []) {
    const artifact = artifacts[dependency] as { type: string; properties?: { file?: string } };
    if (artifact?.type !== 'cdk:asset-manifest' || !artifact.properties?.file) continue;
    const manifest = JSON.parse(
      readFileSync(join(directory, artifact.properties.file), 'utf8'),
    ) as {
      files?: Record<
        string,
        { source: { path?: string }; destinations: Record<string, { objectKey: string }> }
      >;
    };
    for (const file of Object.values(manifest.files ?? {})) {
      if (!file.source.path) continue;
      for (const destination of Object.values(file.destinations)) {
        files.set(destination.objectKey, file.source.path);
      }
    }
  }
  return files;
}

/** Reads a cloud assembly directory (`cdk synth --output`) and deploys it on paper. */
export function loadAssembly(directory: string, addresses: LocalAddresses): DeployedAssembly {
  let manifest: { artifacts?: Record<string, ManifestArtifact> };
  try {
    manifest = JSON.parse(readFileSync(join(directory, 'manifest.json'), 'utf8'));
  } catch (error) {
    throw new AssemblyError(
      `${directory} is not a cloud assembly (no readable manifest.json): ${(error as Error).message}`,
    );
  }
  const artifacts = manifest.artifacts ?? {};
  const exports = new Map<string, string>();
  const resources: DeployedResource[] = [];
  const outputs: Record<string, Record<string, string>> = {};
  const stackNames: string[] = [];
  for (const artifactId of stacksInOrder(artifacts)) {
    const artifact = artifacts[artifactId];
    const templateFile = artifact?.properties?.templateFile;
    if (!templateFile) throw new AssemblyError(`stack ${artifactId} has no templateFile`);
    const stackName = artifact.properties?.stackName ?? artifactId;
    stackNames.push(stackName);
    const template = JSON.parse(readFileSync(join(directory, templateFile), 'utf8')) as Template;
    const assetFiles = assetsOf(directory, artifacts, artifact);
    const byLogicalId = new Map<string, DeployedResource>();
    const resolver = new Resolver(stackName, template, byLogicalId, exports);
    const templateResources = Object.entries(template.Resources ?? {});
    // Names and addresses first (they depend only on the logical id or a literal
    // name), then properties, which may refer to any of them.
    for (const [logicalId, resource] of templateResources) {
      const literal = (key: string): string | undefined => {
        const value = resource.Properties?.[key];
        return typeof value === 'string' ? value : undefined;
      };
      byLogicalId.set(logicalId, {
        stackName,
        logicalId,
        type: resource.Type,
        properties: {},
        ...identify(stackName, logicalId, resource, addresses, literal),
        ...(typeof resource.Metadata?.['aws:cdk:path'] === 'string'
          ? { cdkPath: resource.Metadata['aws:cdk:path'] }
          : {}),
      });
    }
    for (const [logicalId, resource] of templateResources) {
      const deployed = byLogicalId.get(logicalId) as DeployedResource;
      deployed.properties = resolver.resolve(
        resource.Properties ?? {},
        `${logicalId}.Properties`,
      ) as Record<string, unknown>;
      const code = deployed.properties.Code as { S3Key?: string } | undefined;
      const asset = code?.S3Key ? assetFiles.get(code.S3Key) : undefined;
      if (asset) deployed.assetPath = join(directory, asset);
      resources.push(deployed);
    }
    outputs[stackName] = {};
    for (const [key, output] of Object.entries(template.Outputs ?? {})) {
      const value = String(resolver.resolve(output.Value, `Outputs.${key}`));
      outputs[stackName][key] = value;
      if (output.Export)
        exports.set(String(resolver.resolve(output.Export.Name, `Outputs.${key}.Export`)), value);
    }
  }
  return { directory, stackNames, resources, outputs };
}

/** The resources of one type. */
export function resourcesOfType(assembly: DeployedAssembly, type: string): DeployedResource[] {
  return assembly.resources.filter((resource) => resource.type === type);
}

/** The resource whose `Ref` or an attribute is `value` (an ARN, a name, a URL). */
export function resourceBy(
  assembly: DeployedAssembly,
  value: string,
): DeployedResource | undefined {
  return assembly.resources.find(
    (resource) => resource.ref === value || Object.values(resource.attributes).includes(value),
  );
}
