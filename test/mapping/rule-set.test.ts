/**
 * The rule set's own contract, beside the loader's checks in rule-loader.test.ts: how find()
 * reads an event's type and action, what `has` and `lacks` count as present, the files list,
 * the order of a compiled output's properties, and the wording of buildRuleSet's problems
 * for rules without a line or shadowed by several.
 */
import { describe, expect, it } from 'vitest';
import type { Rule } from '../../src/mapping/rule-schema.ts';
import { buildRuleSet, compileRule } from '../../src/mapping/rule-set.ts';
import { rulesFrom } from './learn-events.ts';

const skip = (id: string, match: string) => `  - id: ${id}\n    match: ${match}\n    skip: s\n`;

describe('find', () => {
  const rules = rulesFrom({ 'a.yaml': `rules:\n${skip('grade-created', '{ type: GradeEvent, action: Graded }')}${skip('session-any', '{ type: " SessionEvent " }')}` });

  it('reads the type as a short name, an IMS IRI, or either with spaces around it', () => {
    for (const type of ['GradeEvent', 'http://purl.imsglobal.org/caliper/GradeEvent', 'https://purl.imsglobal.org/caliper/GradeEvent', '  GradeEvent\t']) {
      expect(rules.find(type, 'Graded', {})?.id).toBe('grade-created');
    }
    expect(rules.find('SessionEvent', 'LoggedIn', {})?.id).toBe('session-any');
    expect(rules.find('gradeevent', 'Graded', {})).toBeUndefined();
  });

  it('reads the action as a term or a vocabulary IRI', () => {
    expect(rules.find('GradeEvent', 'http://purl.imsglobal.org/vocab/caliper/v1/action#Graded', {})?.id).toBe('grade-created');
    expect(rules.find('GradeEvent', 'http://purl.imsglobal.org/vocab/caliper/action#Graded', {})?.id).toBe('grade-created');
    expect(rules.find('GradeEvent', 'Created', {})).toBeUndefined();
  });

  it('finds nothing for a type no rule names', () => {
    expect(rules.find('ViewEvent', 'Viewed', {})).toBeUndefined();
  });

  it('counts a value as present unless it is missing, null, blank text (commas and spaces too), an empty map, or a list of nothing but those', () => {
    const conditional = rulesFrom({
      'a.yaml': `rules:\n${skip('with-group', '{ type: ViewEvent, has: [group] }')}${skip('without-object', '{ type: ViewEvent, lacks: [object] }')}${skip('rest', '{ type: ViewEvent }')}`,
    });
    const ruleFor = (event: Record<string, unknown>) => conditional.find('ViewEvent', 'Viewed', event)?.id;
    for (const present of ['g', 0, false, ['g'], { id: 'g' }, 'g, ,', [' , ', 'g']]) expect(ruleFor({ group: present, object: 'o' })).toBe('with-group');
    // Comma-separated text of blank items is a list of nothing, as `where` reads it.
    for (const absent of [undefined, null, '', [], {}, ' ', [''], ['', ' '], ',', ' , ', [' , '], ['', ','], [[' , ']]]) {
      expect(ruleFor({ group: absent, object: 'o' })).toBe('rest');
      expect(ruleFor({ object: absent })).toBe('without-object');
    }
  });
});

describe('the rule set', () => {
  it('lists each rule file once, in the order its rules are tried, fallback files last', () => {
    const rules = rulesFrom({
      '0-ims.yaml': `fallback: true\nrules:\n${skip('ims-any', '{ type: F }')}`,
      'a.yaml': `rules:\n${skip('a1', '{ type: A }')}${skip('a2', '{ type: B }')}`,
      'b.yaml': `rules:\n${skip('b1', '{ type: F, action: Created }')}`,
    });
    expect(rules.files).toEqual(['mappings/a.yaml', 'mappings/b.yaml', 'mappings/0-ims.yaml']);
  });

  it('builds an output\'s properties in the order of the event sent, whatever the order given', () => {
    const rule = {
      id: 'forum',
      match: { type: 'ForumEvent', action: 'Created' },
      student: ['actor.extensions["bb:user.externalId"]'],
      output: {
        type: 'MessageEvent',
        action: 'Posted',
        profile: 'ForumProfile',
        extensions: { note: 'x' },
        target: { from: 'target', transform: 'entity' },
        object: { from: 'object', transform: 'entity' },
        actor: { from: '$edApp' },
      },
    } as unknown as Rule;
    const output = compileRule(rule, { file: 'mappings/a.yaml', index: 0, line: 2, fallback: false }).output!;
    expect(output.properties.map(([name]) => name)).toEqual(['actor', 'object', 'target', 'extensions']);
    expect(output.setsActor).toBe(true);
  });

  it('compiles a rule naming one type twice, in two spellings, to one type', () => {
    const compiled = compileRule({ id: 'r', match: { type: ['GradeEvent', 'http://purl.imsglobal.org/caliper/GradeEvent'] }, skip: 's' } as Rule, {
      file: 'mappings/a.yaml',
      index: 0,
      line: 0,
      fallback: false,
    });
    expect(compiled.types).toEqual(['GradeEvent']);
    expect(compiled.actions).toBeNull();
    expect(compiled.conditional).toBe(false);
  });
});

describe('buildRuleSet problems', () => {
  const origin = (file: string, index: number, line = 0) => ({ file, index, line, fallback: false });
  const compiled = (id: string, match: Rule['match'], where: ReturnType<typeof origin>) => compileRule({ id, match, skip: 's' } as Rule, where);

  it('names the file alone for a rule whose line is unknown, and reports each repeat of an id against the first', () => {
    const { ruleSet, problems } = buildRuleSet([
      compiled('same', { type: 'A' }, origin('mappings/a.yaml', 0)),
      compiled('same', { type: 'B' }, origin('mappings/a.yaml', 1)),
      compiled('same', { type: 'C' }, origin('mappings/b.yaml', 0, 4)),
    ]);
    expect(problems).toEqual([
      'mappings/a.yaml: rule "same": id: already the id of the rule at mappings/a.yaml, rules[0]; rule ids must be unique',
      'mappings/b.yaml:4: rule "same": id: already the id of the rule at mappings/a.yaml, rules[0]; rule ids must be unique',
    ]);
    // The set is still built, for the caller to refuse: every rule is in it.
    expect(ruleSet.rules).toHaveLength(3);
  });

  it('says "take" for several shadowing rules and "takes" for one, and needs every type covered', () => {
    const { problems } = buildRuleSet([
      compiled('a-created', { type: 'A', action: 'Created' }, origin('mappings/a.yaml', 0, 2)),
      compiled('b-any', { type: 'B' }, origin('mappings/a.yaml', 1, 5)),
      compiled('a-and-b', { type: ['A', 'B'], action: 'Created' }, origin('mappings/a.yaml', 2, 8)),
      compiled('b-deleted', { type: 'B', action: 'Deleted' }, origin('mappings/a.yaml', 3, 11)),
      // Type C is taken by no one: this rule still matches C events.
      compiled('a-or-c', { type: ['A', 'C'], action: 'Created' }, origin('mappings/a.yaml', 4, 14)),
    ]);
    expect(problems).toEqual([
      'mappings/a.yaml:8: rule "a-and-b" can never match: "a-created" (mappings/a.yaml:2) and "b-any" (mappings/a.yaml:5) already take every event it would',
      'mappings/a.yaml:11: rule "b-deleted" can never match: "b-any" (mappings/a.yaml:5) already takes every event it would',
    ]);
  });

  it('tries rules in the order given, fallback rules after all others, and the first that matches wins', () => {
    const fallback = { ...origin('mappings/0.yaml', 0, 2), fallback: true };
    const { ruleSet, problems } = buildRuleSet([
      compileRule({ id: 'fallback-any', match: { type: 'A' }, skip: 's' } as Rule, fallback),
      compiled('with-group', { type: 'A', has: ['group'] }, origin('mappings/a.yaml', 0, 2)),
      compiled('created', { type: 'A', action: 'Created' }, origin('mappings/a.yaml', 1, 5)),
    ]);
    expect(problems).toEqual([]);
    expect(ruleSet.rules.map((rule) => rule.id)).toEqual(['with-group', 'created', 'fallback-any']);
    expect(ruleSet.find('A', 'Created', { group: 'g' })?.id).toBe('with-group');
    expect(ruleSet.find('A', 'Created', {})?.id).toBe('created');
    expect(ruleSet.find('A', 'Deleted', {})?.id).toBe('fallback-any');
  });
});
