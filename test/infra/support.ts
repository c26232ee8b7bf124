/**
 * Synthesizes the app exactly as `cdk synth` does (same createPaymentsApp, same
 * cdk.json feature flags, cdk-nag plugin registered), minus esbuild bundling
 * (`aws:cdk:bundling-stacks: []`) and the built-in CloudFormation validation
 * (cfn-lint runs in CI): what costs time here is loading aws-cdk-lib.
 */
import { readFileSync } from 'node:fs';
import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { createPaymentsApp, type PaymentsApp } from '../../infra/payments-app.js';
import type { StageName } from '../../infra/stages.js';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};

export const featureFlags = cdkJson.context;

export interface SynthesizedStage extends PaymentsApp {
  template: Template;
}

export function synthStage(stage: StageName, extraContext: Record<string, unknown> = {}): SynthesizedStage {
  const built = createPaymentsApp({
    context: { ...featureFlags, stage, 'aws:cdk:bundling-stacks': [], ...extraContext },
    builtinCloudFormationValidation: false,
  });
  // Synthesizes the whole app, running the cdk-nag plugin: a finding throws here.
  const template = Template.fromStack(built.stack);
  return { ...built, template };
}

export interface CfnResource<P> {
  Type: string;
  Properties: P;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

/** The template's resources of one type, with the property shape the test reads. */
export function resourcesOfType<P>(template: Template, type: string): [string, CfnResource<P>][] {
  return Object.entries(template.findResources(type) as Record<string, CfnResource<P>>);
}

/** `{ Ref }` or `{ Fn::GetAtt: [id, attr] }` → the logical id it points to. */
export function referencedId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const ref = (value as { Ref?: unknown }).Ref;
  if (typeof ref === 'string') return ref;
  const getAtt = (value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  return undefined;
}

export interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

/** Every `Validations.of(x).acknowledge(...)` in the tree. */
export function acknowledgements(root: IConstruct): Acknowledgement[] {
  const found: Acknowledgement[] = [];
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: construct.node.path, id: id.replace(/^[A-Za-z]+::/, ''), reason });
      }
    }
  }
  return found;
}

/** The value, or a failed test naming what was missing. */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`Expected ${what}, found none.`);
  return value;
}

export interface PolicyStatementJson {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** The statements of every IAM policy attached to the role of one function (by logical id). */
export function functionPolicyStatements(template: Template, functionLogicalId: string): PolicyStatementJson[] {
  const fn = must(template.findResources('AWS::Lambda::Function')[functionLogicalId], functionLogicalId);
  const roleId = referencedId(fn.Properties.Role);
  return resourcesOfType<{ Roles: unknown[]; PolicyDocument: { Statement: PolicyStatementJson[] } }>(template, 'AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r) => referencedId(r) === roleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

/** A statement's actions or resources as a list. */
export function list<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
