import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RULE_SCHEMA_FILE, ruleJsonSchema } from '../../src/mapping/rule-json-schema.ts';

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
