import type { TLocalizedValidationError } from 'typebox/error';

// Turns typebox validation errors into short sentences. Each error carries a JSON pointer to the
// schema node that failed, so bounds and descriptions are read from the schema itself rather than
// repeated here.

export interface RawIssue {
  /** Path segments into the document. */
  readonly segments: readonly string[];
  /** Point at the mapping key rather than the value (unknown or badly named keys). */
  readonly atKey: boolean;
  readonly message: string;
}

type SchemaNode = Record<string, unknown>;

export function pointerSegments(pointer: string): string[] {
  const body = pointer.startsWith('#') ? pointer.slice(1) : pointer;
  if (body === '' || body === '/') return [];
  return body
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function schemaAt(root: unknown, pointer: string): SchemaNode | undefined {
  let node: unknown = root;
  for (const seg of pointerSegments(pointer)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[seg];
  }
  return node !== null && typeof node === 'object' ? (node as SchemaNode) : undefined;
}

function valueAt(root: unknown, segments: readonly string[]): unknown {
  let node = root;
  for (const seg of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[seg];
  }
  return node;
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  null: 'empty',
};

function singular(collection: string): string {
  if (collection === 'routers') return 'router';
  if (collection === 'interfaces') return 'interface';
  if (collection === 'neighbors') return 'neighbour';
  if (collection === 'prefixLists') return 'prefix list';
  if (collection === 'policies') return 'policy';
  return 'key';
}

export function issuesFromSchemaErrors(
  schema: unknown,
  value: unknown,
  errors: readonly TLocalizedValidationError[],
): RawIssue[] {
  const issues: RawIssue[] = [];
  const seen = new Set<string>();
  const add = (issue: RawIssue) => {
    const key = `${issue.segments.join('\u0000')}|${issue.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    issues.push(issue);
  };
  // An anyOf failure repeats every branch's failure; the branches say more, so the summary is
  // used only when nothing more specific was reported for that place.
  const deferred: TLocalizedValidationError[] = [];
  for (const error of errors) {
    const segments = pointerSegments(error.instancePath);
    const got = valueAt(value, segments);
    const node = schemaAt(schema, error.schemaPath);
    switch (error.keyword) {
      case 'additionalProperties':
        break; // reported per key by the 'boolean' (additionalProperties: false) error
      case 'boolean': {
        const parentPath = error.schemaPath.replace(/\/additionalProperties$/, '');
        const parent = schemaAt(schema, parentPath);
        const name = segments[segments.length - 1] ?? '';
        if (parent?.patternProperties !== undefined) {
          const pattern = Object.keys(parent.patternProperties as object)[0] ?? '';
          const what = singular(segments[segments.length - 2] ?? '');
          add({ segments, atKey: true, message: `invalid ${what} name '${name}' (must match ${pattern})` });
        } else {
          add({ segments, atKey: true, message: `unknown field '${name}'` });
        }
        break;
      }
      case 'required': {
        const params = error.params as { requiredProperties?: string[] };
        for (const field of params.requiredProperties ?? []) {
          add({ segments: [...segments, field], atKey: false, message: `missing required field '${field}'` });
        }
        break;
      }
      case 'type': {
        const expected = String((error.params as { type?: unknown }).type ?? node?.type ?? '');
        const word = TYPE_WORDS[expected] ?? expected;
        add({ segments, atKey: false, message: `must be ${word} (got ${describeValue(got)})` });
        break;
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const min = node?.minimum;
        const max = node?.maximum;
        const message =
          typeof min === 'number' && typeof max === 'number'
            ? `must be between ${min} and ${max} (got ${describeValue(got)})`
            : `must be ${error.keyword.includes('inimum') ? 'at least' : 'at most'} ${String(
                (error.params as { limit?: unknown }).limit,
              )} (got ${describeValue(got)})`;
        add({ segments, atKey: false, message });
        break;
      }
      case 'pattern': {
        const description = typeof node?.description === 'string' ? node.description : undefined;
        const pattern = String((error.params as { pattern?: unknown }).pattern ?? '');
        add({
          segments,
          atKey: false,
          message: `must be ${description ?? `text matching ${pattern}`} (got ${describeValue(got)})`,
        });
        break;
      }
      case 'enum': {
        const allowed = ((error.params as { allowedValues?: unknown[] }).allowedValues ?? []).map(String);
        add({
          segments,
          atKey: false,
          message: `must be one of ${allowed.join(', ')} (got ${describeValue(got)})`,
        });
        break;
      }
      case 'const': {
        const allowed = (error.params as { allowedValue?: unknown }).allowedValue;
        add({
          segments,
          atKey: false,
          message: `must be ${JSON.stringify(allowed)} or left out (got ${describeValue(got)})`,
        });
        break;
      }
      case 'minLength':
      case 'maxLength':
      case 'minItems':
      case 'maxItems': {
        const limit = (error.params as { limit?: unknown }).limit;
        const unit = error.keyword.endsWith('Items') ? 'entries' : 'characters';
        const bound = error.keyword.startsWith('min') ? 'at least' : 'at most';
        add({ segments, atKey: false, message: `must have ${bound} ${String(limit)} ${unit}` });
        break;
      }
      case 'anyOf':
      case 'oneOf':
        deferred.push(error);
        break;
      default:
        add({ segments, atKey: false, message: `is invalid (${error.keyword}: ${error.message})` });
    }
  }
  for (const error of deferred) {
    const segments = pointerSegments(error.instancePath);
    const prefix = segments.join('\u0000');
    if (issues.some((i) => i.segments.join('\u0000').startsWith(prefix))) continue;
    add({
      segments,
      atKey: false,
      message: `has an invalid value (${describeValue(valueAt(value, segments))})`,
    });
  }
  return issues;
}
