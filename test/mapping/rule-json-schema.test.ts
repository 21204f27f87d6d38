import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LISTS_SCHEMA_FILE, listsJsonSchema, RULE_SCHEMA_FILE, ruleJsonSchema } from '../../src/mapping/rule-json-schema.ts';

describe('mappings/rule.schema.json', () => {
  it('is what the rule schema generates (run npm run mappings:schema after changing it)', () => {
    expect(readFileSync(RULE_SCHEMA_FILE, 'utf8')).toBe(ruleJsonSchema());
  });

  it('offers the transform names and output types to editors', () => {
    const schema = JSON.parse(ruleJsonSchema());
    const text = JSON.stringify(schema);
    expect(text).toContain('"url-origin"');
    expect(text).toContain('"ToolLaunchEvent"');
    expect(schema.$defs.value).toBeDefined();
  });
});

describe('mappings/lists.schema.json', () => {
  it('is what the lists schema generates (run npm run mappings:schema after changing it)', () => {
    expect(readFileSync(LISTS_SCHEMA_FILE, 'utf8')).toBe(listsJsonSchema());
  });

  it('describes a lists.yaml: named lists of values, and nothing else at the top', () => {
    const schema = JSON.parse(listsJsonSchema());
    expect(Object.keys(schema.properties)).toEqual(['description', 'lists']);
    expect(schema.required).toEqual(['lists']);
    expect(schema.additionalProperties).toBe(false);
  });

  it('offers { const: … } as a list value to editors, closed like the rules\' one', () => {
    const items = JSON.parse(listsJsonSchema()).properties.lists.additionalProperties.items.anyOf;
    expect(items.find((branch: { type: string }) => branch.type === 'object')).toMatchObject({ required: ['const'], additionalProperties: false });
  });
});
