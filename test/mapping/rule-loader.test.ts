import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileRuleFiles, listRuleFiles, loadRules, RuleLoadError } from '../../src/mapping/rule-loader.ts';

function problemsOf(files: Record<string, string>): string[] {
  try {
    compileRuleFiles(Object.entries(files).map(([name, text]) => ({ file: `mappings/${name}`, text })));
  } catch (err) {
    if (err instanceof RuleLoadError) return err.problems;
    throw err;
  }
  throw new Error('expected the rules to be refused');
}

const forumRule = (extra = '') => `
rules:
  - id: forum-post-created
    match:
      type: http://caliper.blackboard.com/caliper/v1/ForumEvent
      action: Created
    student:
      - actor.extensions["bb:user.externalId"]
    output:
      type: MessageEvent
      action: Posted
      profile: ForumProfile
      object:
        id: { from: generated.id${extra} }
        type: Message
`;

describe('rule loader errors', () => {
  it('names the file, the line and the failing key', () => {
    expect(problemsOf({ 'forum-event.yaml': forumRule(', transform: dattime') })).toEqual([
      'mappings/forum-event.yaml:14: rule "forum-post-created": output.object.id.transform: unknown transform "dattime" (known: string, number, integer, boolean, positive, datetime, duration, urn-uuid, iri, named-iri, url-iri, id, strip-query, url-origin, last-segment, lowercase, entity)',
    ]);
  });

  it('names the rule by its id, not its place in the list, and by its place only when it has no id', () => {
    const skip = (id: string, match = '{ type: X }') => `  - id: ${id}\n    match: ${match}\n    skip: s\n`;
    expect(problemsOf({ 'x.yaml': `rules:\n${skip('first')}${skip('second', '{ type: Y, actoin: Z }')}` })).toEqual([
      'mappings/x.yaml:6: rule "second": match.actoin: unknown key; did you mean "action"? (known here: type, action, has, lacks, where, whereNone)',
    ]);
    expect(problemsOf({ 'x.yaml': `rules:\n${skip('first')}  - match: { type: Y }\n    skip: s\n` })).toEqual(['mappings/x.yaml:5: rules[1].id: every rule needs an id']);
    expect(problemsOf({ 'x.yaml': 'rules:\n  - just text\n' })).toEqual(['mappings/x.yaml:2: rules[0]: expected a mapping, got text "just text"']);
    // A sentence pasted as the id is cut short; the line still finds the rule.
    const sentence = 'Skips posts by instructors, since staff activity is teaching and TimeBack credits learners';
    expect(problemsOf({ 'x.yaml': `rules:\n${skip(sentence)}` })).toEqual([
      `mappings/x.yaml:2: rule "${sentence.slice(0, 60)}"… (${sentence.length} characters): id: rule ids are kebab-case: lowercase letters, digits and single dashes`,
    ]);
  });

  // check-mappings prints these: a rule's text is escaped where a terminal would not show it
  // as written (a bidi override reorders the line), and a long one is cut.
  it.each([
    ['an unknown transform', forumRule(', transform: "dat\\u202etime"'),
      'mappings/x.yaml:14: rule "forum-post-created": output.object.id.transform: unknown transform "dat\\u202etime" (known: string, number, integer, boolean, positive, datetime, duration, urn-uuid, iri, named-iri, url-iri, id, strip-query, url-origin, last-segment, lowercase, entity)'],
    ['an unknown variable', forumRule().replace('        type: Message\n', '        type: "$teach\\x85er"\n'),
      'mappings/x.yaml:15: rule "forum-post-created": output.object.type: unknown variable "$teach\\u0085er": variables are $student, $platformId, $edApp, $sensor, $sourceId (write text starting with $ as { const: "…" })'],
    ['an output type of megabytes', forumRule().replace('type: MessageEvent', `type: ${'M'.repeat(100_000)}`),
      `mappings/x.yaml:10: rule "forum-post-created": output.type: "${'M'.repeat(100)}"… (100000 characters) is not a Caliper 1.2 event type`],
    ['an unknown personal-data category', 'rules:\n  - id: a\n    match: { type: X }\n    skip: s\n    allowPii: ["ph\\u2066one"]\n',
      'mappings/x.yaml:5: rule "a": allowPii[0]: unknown personal-data category "ph\\u2066one" (known: email, name, user-id, ip-address, user-agent, lti-parameters, written-text)'],
    ['rules that are text', 'rules: "all\\u202e"\n', 'mappings/x.yaml:1: rules: expected a list of rules, each starting with "- ", got "all\\u202e"'],
    ['a rule that is text', 'rules:\n  - "just\\u202etext"\n', 'mappings/x.yaml:2: rules[0]: expected a mapping, got text "just\\u202etext"'],
    ['a rule id with an override', 'rules:\n  - id: "a\\u202eb"\n    match: { type: X }\n    skip: s\n',
      'mappings/x.yaml:2: rule "a\\u202eb": id: rule ids are kebab-case: lowercase letters, digits and single dashes'],
    ['a bad path', 'rules:\n  - id: a\n    match:\n      type: X\n      lacks: ["actor.b:\\x85"]\n    skip: s\n',
      'mappings/x.yaml:5: rule "a": match.lacks[0]: bad path "actor.b:\\u0085": keys containing dots, colons or spaces go in brackets and quotes, like extensions["bb:user.externalId"]'],
  ])('quotes %s escaped and bounded', (_what, text, problem) => {
    expect(problemsOf({ 'x.yaml': text })).toEqual([problem]);
  });

  it('reports every problem of every file, not just the first', () => {
    const problems = problemsOf({
      'a.yaml': forumRule(', transform: [iri, nope]'),
      'b.yaml': 'rules:\n  - id: Bad_Id\n    match: { type: X }\n    skip: because\n',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^mappings\/a\.yaml:14: rule "forum-post-created": output\.object\.id\.transform\[1\]: unknown transform "nope"/),
      'mappings/b.yaml:2: rule "Bad_Id": id: rule ids are kebab-case: lowercase letters, digits and single dashes',
    ]);
  });

  it.each([
    ['an unknown key', 'rules:\n  - id: a\n    match: { type: X }\n    skip: s\n    skpi: t\n', 'mappings/x.yaml:5: rule "a": skpi: unknown key; did you mean "skip"? (known here: id, description, match, student, output, skip, allowPii)'],
    ['a wrong kind of value', 'rules:\n  - id: a\n    match: { type: [] }\n    skip: s\n', 'mappings/x.yaml:3: rule "a": match.type: the list is empty'],
    ['rules that are not a list', 'rules: {}\n', 'mappings/x.yaml:1: rules: expected a list of rules, each starting with "- ", got a mapping (is the "- " before the first rule missing?)'],
    ['an empty file', '', "mappings/x.yaml: the file is empty (or only comments); a rule file holds rules: followed by its rules. To drop a file's rules, delete the file, or write rules: []"],
    ['a file of comments only', '# rules to come\n', "mappings/x.yaml: the file is empty (or only comments); a rule file holds rules: followed by its rules. To drop a file's rules, delete the file, or write rules: []"],
    ['neither output nor skip', 'rules:\n  - id: a\n    match: { type: X }\n', 'mappings/x.yaml:2: rule "a": output: a rule needs an output, or a skip saying why it sends nothing'],
    ['both output and skip', `${forumRule()}    skip: no\n`, 'mappings/x.yaml:16: rule "forum-post-created": skip: a rule has an output or a skip, not both'],
    ['an output without student paths', 'rules:\n  - id: a\n    match: { type: X }\n    output: { type: ViewEvent, action: Viewed, profile: ReadingProfile, object: x }\n', 'mappings/x.yaml:2: rule "a": student: a rule with an output needs student: the paths to the student\'s Learn id'],
    ['an unquoted dotted key in a path', 'rules:\n  - id: a\n    match:\n      type: X\n      lacks: ["actor.extensions.bb:user.id"]\n    skip: s\n', 'mappings/x.yaml:5: rule "a": match.lacks[0]: bad path "actor.extensions.bb:user.id": keys containing dots, colons or spaces go in brackets and quotes, like extensions["bb:user.externalId"]'],
    ['an action the output type does not allow', forumRule().replace('action: Posted', 'action: Created'), 'mappings/x.yaml:11: rule "forum-post-created": output.action: MessageEvent does not allow Created (allowed: Posted, MarkedAsRead, MarkedAsUnread)'],
    ['a profile that does not carry the type', forumRule().replace('ForumProfile', 'ReadingProfile'), 'mappings/x.yaml:12: rule "forum-post-created": output.profile: ReadingProfile does not carry MessageEvent (use ForumProfile)'],
    ['an output type that is not Caliper 1.2', forumRule().replace('type: MessageEvent', 'type: OutcomeEvent'), 'mappings/x.yaml:10: rule "forum-post-created": output.type: "OutcomeEvent" is not a Caliper 1.2 event type'],
    ['a property the gateway owns', forumRule().replace('profile: ForumProfile', 'profile: ForumProfile\n      session: x'), 'mappings/x.yaml:13: rule "forum-post-created": output.session: the gateway sets session (urn:tag:auto-attach) itself; a rule cannot change it'],
    ['an unknown variable', forumRule().replace('        type: Message\n', '        type: $teacher\n'), 'mappings/x.yaml:15: rule "forum-post-created": output.object.type: unknown variable "$teacher": variables are $student, $platformId, $edApp, $sensor, $sourceId (write text starting with $ as { const: "…" })'],
    ['transform without from', forumRule().replace('        type: Message\n', '        type: Message\n        transform: iri\n'), 'mappings/x.yaml:16: rule "forum-post-created": output.object.transform: "transform" only goes with "from"'],
    ['a key next to from', forumRule().replace('{ from: generated.id }', '{ from: generated.id, type: Message }'), 'mappings/x.yaml:14: rule "forum-post-created": output.object.id.type: not allowed next to "from" (a from value takes only from, transform, pick, map, default, required); to build an object, put the from value under a key'],
    ['an unknown personal-data category', 'rules:\n  - id: a\n    match: { type: X }\n    skip: s\n    allowPii: [email, phone]\n', 'mappings/x.yaml:5: rule "a": allowPii[1]: unknown personal-data category "phone" (known: email, name, user-id, ip-address, user-agent, lti-parameters, written-text)'],
    ['a misspelt match key', 'rules:\n  - id: a\n    match: { type: X, actoin: Created }\n    skip: s\n', 'mappings/x.yaml:3: rule "a": match.actoin: unknown key; did you mean "action"? (known here: type, action, has, lacks, where, whereNone)'],
    ['a misspelt transform next to from', forumRule(', trasnform: iri'), 'mappings/x.yaml:14: rule "forum-post-created": output.object.id.trasnform: not allowed next to "from"; did you mean "transform"? (a from value takes only from, transform, pick, map, default, required)'],
    ['from misspelt', forumRule().replace('{ from: generated.id }', '{ form: generated.id }'), 'mappings/x.yaml:14: rule "forum-post-created": output.object.id.form: "form" looks like a misspelt "from": as written, it is a key of an object sent to TimeBack'],
    ['rules left empty', 'rules:\n', 'mappings/x.yaml:1: rules: empty: list the rules under it, each starting with "- ", or write rules: [] for none'],
    ['a null value', forumRule().replace('        type: Message\n', '        type: null\n'), 'mappings/x.yaml:15: rule "forum-post-created": output.object.type: expected text, or a number, or true or false, or a list, or a mapping, got null'],
  ])('refuses %s', (_what, text, problem) => {
    expect(problemsOf({ 'x.yaml': text })).toEqual([problem]);
  });

  // `required` checks what Learn sent before the student is looked up: a default or a
  // $variable would leave it nothing to check.
  it.each([
    ['required beside a default', forumRule(', required: true, default: x'), 'mappings/x.yaml:14: rule "forum-post-created": output.object.id.required: a value with a default never comes out empty; keep required or default, not both'],
    ['required on a $variable', forumRule().replace('{ from: generated.id }', '{ from: [generated.id, $sourceId], required: true }'), "mappings/x.yaml:14: rule \"forum-post-created\": output.object.id.required: required checks what the input holds; read only paths into the input, not $variables, the gateway's own"],
    ['required misspelt', forumRule(', requried: true'), 'mappings/x.yaml:14: rule "forum-post-created": output.object.id.requried: not allowed next to "from"; did you mean "required"? (a from value takes only from, transform, pick, map, default, required)'],
    ['required that is not true or false', forumRule(', required: yes'), 'mappings/x.yaml:14: rule "forum-post-created": output.object.id.required: expected true or false'],
  ])('refuses %s', (_what, text, problem) => {
    expect(problemsOf({ 'x.yaml': text })).toEqual([problem]);
  });

  // A computed action or profile is a mapping, so the misspelt key is what to fix, not the
  // key it leaves missing (nor the value, which is no action name).
  it.each([
    ['from misspelt in a computed action', 'action: { frm: action }', 'mappings/x.yaml:11: rule "forum-post-created": output.action.frm: unknown key; did you mean "from"? (known here: from, map, default)'],
    ['from misspelt beside a map', 'action: { Form: action, map: { Created: Posted } }', 'mappings/x.yaml:11: rule "forum-post-created": output.action.Form: unknown key; did you mean "from"? (known here: from, map, default)'],
    ['from misspelt in a computed profile', 'profile: { fro: object.type, default: ForumProfile }', 'mappings/x.yaml:12: rule "forum-post-created": output.profile.fro: unknown key; did you mean "from"? (known here: from, map, default)'],
    ['an unknown key instead of from', 'action: { source: action }', 'mappings/x.yaml:11: rule "forum-post-created": output.action.source: unknown key; known here: from, map, default'],
  ])('names the misspelt key of a computed term, not the key it leaves missing: %s', (_what, term, problem) => {
    const key = term.slice(0, term.indexOf(':'));
    const text = forumRule().replace(key === 'action' ? 'action: Posted' : 'profile: ForumProfile', term);
    expect(problemsOf({ 'x.yaml': text })).toEqual([problem]);
  });

  it('still names the key a computed term leaves out when nothing is misspelt', () => {
    expect(problemsOf({ 'x.yaml': forumRule().replace('action: Posted', 'action: { map: { Created: Posted } }') })).toEqual([
      'mappings/x.yaml:11: rule "forum-post-created": output.action.from: required (text, or a list)',
    ]);
  });

  // The branch of a union the author meant is reported whole: the misspelt key and, beside it,
  // what else is wrong there, so the next run does not find more.
  it.each([
    ['a misspelt key and a map value that is no action', 'action: { frm: action, map: { Created: Nope } }', [
      'mappings/x.yaml:11: rule "forum-post-created": output.action.frm: unknown key; did you mean "from"? (known here: from, map, default)',
      'mappings/x.yaml:11: rule "forum-post-created": output.action.map.Created: "Nope" is not a Caliper 1.2 action',
    ]],
    ['a misspelt default, and no from at all', 'action: { map: { Created: Posted }, defualt: Posted }', [
      'mappings/x.yaml:11: rule "forum-post-created": output.action.defualt: unknown key; did you mean "default"? (known here: from, map, default)',
      'mappings/x.yaml:11: rule "forum-post-created": output.action.from: required (text, or a list)',
    ]],
    ['two map values that are no actions', 'action: { from: action, map: { Created: Nope, Modified: Bad } }', [
      'mappings/x.yaml:11: rule "forum-post-created": output.action.map.Created: "Nope" is not a Caliper 1.2 action',
      'mappings/x.yaml:11: rule "forum-post-created": output.action.map.Modified: "Bad" is not a Caliper 1.2 action',
    ]],
  ])('names every problem of a computed term: %s', (_what, term, problems) => {
    expect(problemsOf({ 'x.yaml': forumRule().replace('action: Posted', term) })).toEqual(problems);
  });

  it('names every bad item of a one-or-a-list value', () => {
    const known = 'string, number, integer, boolean, positive, datetime, duration, urn-uuid, iri, named-iri, url-iri, id, strip-query, url-origin, last-segment, lowercase, entity';
    expect(problemsOf({ 'x.yaml': forumRule(', transform: [nope, iri, bad]') })).toEqual([
      `mappings/x.yaml:14: rule "forum-post-created": output.object.id.transform[0]: unknown transform "nope" (known: ${known})`,
      `mappings/x.yaml:14: rule "forum-post-created": output.object.id.transform[2]: unknown transform "bad" (known: ${known})`,
    ]);
  });

  // A value with a misspelt from is read as the from value it is meant to be: its other
  // misspelt keys are named in the same run, not after from is fixed.
  it('names the misspelt keys beside a misspelt from', () => {
    expect(problemsOf({ 'x.yaml': forumRule().replace('{ from: generated.id }', '{ form: generated.id, trnsform: iri, type: Message }') })).toEqual([
      'mappings/x.yaml:14: rule "forum-post-created": output.object.id.form: "form" looks like a misspelt "from": as written, it is a key of an object sent to TimeBack',
      'mappings/x.yaml:14: rule "forum-post-created": output.object.id.trnsform: "trnsform" looks like a misspelt "transform" (which goes with "from"): as written, it is a key of an object sent to TimeBack',
    ]);
    expect(problemsOf({ 'x.yaml': forumRule().replace('{ from: generated.id }', '{ form: generated.id, transform: iri, defualt: x }') })).toEqual([
      'mappings/x.yaml:14: rule "forum-post-created": output.object.id.transform: "transform" only goes with "from" (is "form" meant to be "from"?)',
      'mappings/x.yaml:14: rule "forum-post-created": output.object.id.defualt: "defualt" looks like a misspelt "default" (which goes with "from"): as written, it is a key of an object sent to TimeBack',
    ]);
  });

  it('names both the misspelt key and the key it leaves missing', () => {
    expect(problemsOf({ 'x.yaml': forumRule().replace('profile: ForumProfile', 'profil: ForumProfile') })).toEqual([
      'mappings/x.yaml:9: rule "forum-post-created": output.profile: required: a Caliper 1.2 profile (MessageEvent goes in: ForumProfile)',
      'mappings/x.yaml:12: rule "forum-post-created": output.profil: unknown key; did you mean "profile"? (known here: type, action, profile, actor, object, target, generated, referrer, group, membership, federatedSession, extensions)',
    ]);
  });

  describe('several unknown keys', () => {
    // Each key gets its own line, with its own line number and its own did-you-mean, so one
    // run names everything to fix; problems come in the order of the file.
    const known = {
      rule: '(known here: id, description, match, student, output, skip, allowPii)',
      match: '(known here: type, action, has, lacks, where, whereNone)',
      computed: '(known here: from, map, default)',
    };

    it('names every misspelt key of one rule, each on its own line with its own suggestion', () => {
      const text = 'rules:\n  - id: a\n    descripton: New posts\n    match:\n      type: X\n      actoin: Created\n    skip: s\n    alowPii: [email]\n';
      expect(problemsOf({ 'x.yaml': text })).toEqual([
        `mappings/x.yaml:3: rule "a": descripton: unknown key; did you mean "description"? ${known.rule}`,
        `mappings/x.yaml:6: rule "a": match.actoin: unknown key; did you mean "action"? ${known.match}`,
        `mappings/x.yaml:8: rule "a": alowPii: unknown key; did you mean "allowPii"? ${known.rule}`,
      ]);
    });

    it('names a misspelt key in each of two rules of one file', () => {
      const text = 'rules:\n  - id: a\n    match: { type: X }\n    skip: s\n    descripton: d\n  - id: b\n    match: { type: Y, hass: [object.id] }\n    skip: s\n';
      expect(problemsOf({ 'x.yaml': text })).toEqual([
        `mappings/x.yaml:5: rule "a": descripton: unknown key; did you mean "description"? ${known.rule}`,
        `mappings/x.yaml:7: rule "b": match.hass: unknown key; did you mean "has"? ${known.match}`,
      ]);
    });

    it('lists the known keys alone for a key with no close one, beside one that has', () => {
      const text = 'rules:\n  - { id: a, match: { type: X }, skip: s, skpi: t, banana: 1 }\n';
      expect(problemsOf({ 'x.yaml': text })).toEqual([
        `mappings/x.yaml:2: rule "a": skpi: unknown key; did you mean "skip"? ${known.rule}`,
        `mappings/x.yaml:2: rule "a": banana: unknown key; known here: id, description, match, student, output, skip, allowPii`,
      ]);
    });

    it('names every misspelt key of a computed action, a branch of a union', () => {
      expect(problemsOf({ 'x.yaml': forumRule().replace('action: Posted', 'action: { frm: action, defualt: Posted }') })).toEqual([
        `mappings/x.yaml:11: rule "forum-post-created": output.action.frm: unknown key; did you mean "from"? ${known.computed}`,
        `mappings/x.yaml:11: rule "forum-post-created": output.action.defualt: unknown key; did you mean "default"? ${known.computed}`,
      ]);
    });

    it('names every unknown key of lists.yaml', () => {
      expect(problemsOf({ 'lists.yaml': 'lists: { a: [x] }\ndescripton: d\nlist: {}\n', 'x.yaml': 'rules: []\n' })).toEqual([
        'mappings/lists.yaml:2: descripton: unknown key; did you mean "description"? (known here: description, lists)',
        'mappings/lists.yaml:3: list: unknown key; did you mean "lists"? (known here: description, lists)',
      ]);
    });
  });

  // A key in another case looks right to the eye; the message says why it is not the key meant.
  describe('keys in another case', () => {
    const known = {
      rule: '(known here: id, description, match, student, output, skip, allowPii)',
      match: '(known here: type, action, has, lacks, where, whereNone)',
      fromKeys: '(a from value takes only from, transform, pick, map, default, required)',
      sent: 'as written, it is a key of an object sent to TimeBack',
    };

    it.each([
      ['a rule key', 'rules:\n  - id: a\n    match: { type: X }\n    skip: s\n    allowPII: [email]\n', [
        `mappings/x.yaml:5: rule "a": allowPII: unknown key; keys are case-sensitive: did you mean "allowPii"? ${known.rule}`,
      ]],
      ['a match key', 'rules:\n  - id: a\n    match: { type: X, Action: Created }\n    skip: s\n', [
        `mappings/x.yaml:3: rule "a": match.Action: unknown key; keys are case-sensitive: did you mean "action"? ${known.match}`,
      ]],
      ['from in a computed action', forumRule().replace('action: Posted', 'action: { From: action }'), [
        'mappings/x.yaml:11: rule "forum-post-created": output.action.From: unknown key; keys are case-sensitive: did you mean "from"? (known here: from, map, default)',
      ]],
      ['from in a value', forumRule().replace('{ from: generated.id }', '{ From: generated.id }'), [
        `mappings/x.yaml:14: rule "forum-post-created": output.object.id.From: "From" looks like "from", but keys are case-sensitive: ${known.sent}`,
      ]],
      ['from beside a transform', forumRule().replace('{ from: generated.id }', '{ From: generated.id, transform: iri }'), [
        'mappings/x.yaml:14: rule "forum-post-created": output.object.id.transform: "transform" only goes with "from" (is "From" meant to be "from"? keys are case-sensitive)',
      ]],
      ['a transform beside from in another case', forumRule().replace('{ from: generated.id }', '{ From: generated.id, Transform: iri }'), [
        `mappings/x.yaml:14: rule "forum-post-created": output.object.id.From: "From" looks like "from", but keys are case-sensitive: ${known.sent}`,
        `mappings/x.yaml:14: rule "forum-post-created": output.object.id.Transform: "Transform" looks like "transform" (which goes with "from"), but keys are case-sensitive: ${known.sent}`,
      ]],
      ['a transform next to from', forumRule(', Transform: iri'), [
        `mappings/x.yaml:14: rule "forum-post-created": output.object.id.Transform: not allowed next to "from"; keys are case-sensitive: did you mean "transform"? ${known.fromKeys}`,
      ]],
    ])('says keys are case-sensitive and names the key meant: %s', (_what, text, problems) => {
      expect(problemsOf({ 'x.yaml': text })).toEqual(problems);
    });

    it('says so for const in lists.yaml', () => {
      expect(problemsOf({ 'lists.yaml': 'lists:\n  a:\n    - { Const: $x }\n', 'x.yaml': 'rules: []\n' })).toEqual([
        'mappings/lists.yaml:3: lists.a[0].Const: unknown key; keys are case-sensitive: did you mean "const"? (a mapping here is { const: value } and holds nothing else: the value taken as written, for text starting with $)',
      ]);
    });
  });

  // eventTim is not just an unknown key: its author meant to set eventTime, which the gateway
  // sets itself, so one run says both, instead of "did you mean" now and "cannot change it" next.
  describe('near misses of keys the gateway sets', () => {
    const known = '(known here: type, action, profile, actor, object, target, generated, referrer, group, membership, federatedSession, extensions)';
    const withOutputKey = (line: string) => forumRule().replace('profile: ForumProfile', `profile: ForumProfile\n      ${line}`);

    it.each([
      ['eventTim: "2026-01-01T00:00:00Z"', 'output.eventTim: unknown key; did you mean "eventTime"? The gateway sets eventTime (the input eventTime in UTC) itself; a rule cannot change it'],
      ['edAp: $edApp', 'output.edAp: unknown key; did you mean "edApp"? The gateway sets edApp ($edApp) itself; a rule cannot change it'],
      ['EdApp: $edApp', 'output.EdApp: unknown key; keys are case-sensitive: did you mean "edApp"? The gateway sets edApp ($edApp) itself; a rule cannot change it'],
      ['sesion: x', 'output.sesion: unknown key; did you mean "session"? The gateway sets session (urn:tag:auto-attach) itself; a rule cannot change it'],
      ['ids: x', 'output.ids: unknown key; did you mean "id"? The gateway sets the event id (a UUID v5 of sensor, source event id and rule id) itself; a rule cannot change it'],
    ])('names the key meant and that the gateway sets it: %s', (line, problem) => {
      expect(problemsOf({ 'x.yaml': withOutputKey(line) })).toEqual([`mappings/x.yaml:13: rule "forum-post-created": ${problem} ${known}`]);
    });

    it('names no key the gateway sets for an unknown key far from all of them', () => {
      expect(problemsOf({ 'x.yaml': withOutputKey('timestamp: x') })).toEqual([
        `mappings/x.yaml:13: rule "forum-post-created": output.timestamp: unknown key; known here: type, action, profile, actor, object, target, generated, referrer, group, membership, federatedSession, extensions`,
      ]);
    });
  });

  it('refuses YAML that is not plain data: repeated keys, custom tags, syntax errors', () => {
    expect(problemsOf({ 'x.yaml': 'rules:\n  - id: a\n    id: b\n' })).toEqual(['mappings/x.yaml:3:5: Map keys must be unique. This key is written twice in one mapping: keep one.']);
    expect(problemsOf({ 'x.yaml': 'rules: !!js/function "function () { return 1 }"\n' })[0]).toMatch(/^mappings\/x\.yaml:1:8: Unresolved tag: tag:yaml\.org,2002:js\/function/);
    expect(problemsOf({ 'x.yaml': 'rules:\n  - id: [a\n' })[0]).toMatch(/^mappings\/x\.yaml:\d+:\d+: /);
  });

  // The first error is the one to fix; the parser's later ones mostly follow from it.
  it.each([
    [
      'a path with brackets inside { … }, unquoted',
      'rules:\n  - id: a\n    output:\n      object: { from: actor.extensions["bb:user.email"] }\n',
      `mappings/x.yaml:4:39: Unexpected flow-seq-start at node end. Inside { … } or [ … ], quote a path with brackets as a whole, like { from: 'actor.extensions["bb:user.externalId"]' }, or write it on its own line. (Then 3 more YAML errors, most likely caused by this one.)`,
    ],
    [
      'a path with brackets inside [ … ], unquoted',
      'rules:\n  - id: a\n    student: [actor.extensions["bb:user.externalId"]]\n',
      `mappings/x.yaml:3:31: Missing , or : between flow sequence items. Inside { … } or [ … ], quote a path with brackets as a whole, like { from: 'actor.extensions["bb:user.externalId"]' }, or write it on its own line.`,
    ],
    [
      'text holding ": ", unquoted (CRLF line endings)',
      'rules:\r\n  - id: a\r\n    description: Note: Learn sends no membership\r\n    skip: s\r\n',
      'mappings/x.yaml:3:18: Nested mappings are not allowed in compact mappings. Put text that holds ": " (a colon and a space) in quotes.',
    ],
    [
      'a tab for indentation',
      'rules:\n  - id: a\n\tmatch: { type: X }\n    skip: s\n',
      expect.stringMatching(/^mappings\/x\.yaml:3:1: Tabs are not allowed as indentation\. Indent with spaces\. \(Then \d+ more YAML errors?, most likely caused by this one\.\)$/),
    ],
    [
      'a key indented one step too far',
      'rules:\n  - id: a\n    match:\n        type: X\n      action: Y\n    skip: s\n',
      'mappings/x.yaml:5:1: All mapping items must start at the same column. Check the indentation here and on the lines around it: the keys of one mapping, and the "- " items of one list, start in the same column.',
    ],
    [
      'text starting with a character YAML reserves',
      'rules:\n  - id: a\n    match: { type: X }\n    skip: @instructors are not students\n',
      'mappings/x.yaml:4:11: Plain value cannot start with reserved character @. Put text that starts with @, `, *, &, ! or % in quotes.',
    ],
    [
      'a quote never closed',
      'rules:\n  - id: a\n    match: { type: X }\n    skip: "not a student\n',
      'mappings/x.yaml:5:1: Missing closing "quote. A quote opened above is not closed before the end of the file: look for the text where it starts.',
    ],
  ])('reports the first YAML syntax error with its line, column and what to write: %s', (_what, text, problem) => {
    expect(problemsOf({ 'x.yaml': text })).toEqual([problem]);
  });

  it('refuses duplicate rule ids across files', () => {
    const skip = (id: string, type: string) => `rules:\n  - id: ${id}\n    match: { type: ${type} }\n    skip: s\n`;
    expect(problemsOf({ 'a.yaml': skip('same', 'X'), 'b.yaml': skip('same', 'Y') })).toEqual([
      'mappings/b.yaml:2: rule "same": id: already the id of the rule at mappings/a.yaml:2; rule ids must be unique',
    ]);
  });

  it('refuses a rule an earlier unconditional rule shadows, across files and with fallbacks last', () => {
    const text = (rules: string, fallback = false) => `${fallback ? 'fallback: true\n' : ''}rules:\n${rules}`;
    const skip = (id: string, match: string) => `  - id: ${id}\n    match: ${match}\n    skip: s\n`;
    // Later file, superset of actions.
    expect(problemsOf({ 'a.yaml': text(skip('any-forum', '{ type: F }')), 'b.yaml': text(skip('forum-created', '{ type: F, action: Created }')) })).toEqual([
      'mappings/b.yaml:2: rule "forum-created" can never match: "any-forum" (mappings/a.yaml:2) already takes every event it would',
    ]);
    // Two earlier rules together cover every action; the IMS IRI is the same type as the short name.
    expect(
      problemsOf({
        'a.yaml': text(skip('c', '{ type: GradeEvent, action: Created }') + skip('d', '{ type: GradeEvent, action: [Deleted, Modified] }') + skip('e', '{ type: "http://purl.imsglobal.org/caliper/GradeEvent", action: [Created, Deleted] }')),
      }),
    ).toEqual(['mappings/a.yaml:8: rule "e" can never match: "c" (mappings/a.yaml:2) and "d" (mappings/a.yaml:5) already take every event it would']);
    // A fallback file's rule comes after every other file, so an ordinary rule can shadow it.
    expect(problemsOf({ 'a.yaml': text(skip('ims-forum-created', '{ type: F, action: Created }'), true), 'z.yaml': text(skip('forum-any', '{ type: F }')) })).toEqual([
      'mappings/a.yaml:3: rule "ims-forum-created" can never match: "forum-any" (mappings/z.yaml:2) already takes every event it would',
    ]);
  });

  it('accepts rules that only look alike: conditional rules, partial overlaps, fallback after specific', () => {
    const rules = compileRuleFiles([
      {
        file: 'mappings/a.yaml',
        text: `rules:
  - id: forum-with-group
    match: { type: F, has: [group.id] }
    skip: s
  - id: forum-created
    match: { type: F, action: Created }
    skip: s
  - id: forum-any
    match: { type: [F, G], action: [Created, Deleted] }
    skip: s
`,
      },
      { file: 'mappings/0-ims.yaml', text: 'fallback: true\nrules:\n  - id: ims-any\n    match: { type: F }\n    skip: s\n' },
      { file: 'mappings/z.yaml', text: 'rules:\n  - id: z-deleted\n    match: { type: G, action: Modified }\n    skip: s\n' },
    ]);
    // Fallback files go last whatever their name; the rest in the order given (the loader sorts names).
    expect(rules.rules.map((rule) => rule.id)).toEqual(['forum-with-group', 'forum-created', 'forum-any', 'z-deleted', 'ims-any']);
  });
});

describe('match.where', () => {
  // An instructor rule that skips, and a catch-all after it: which one takes an event shows whether `where` matched.
  const rules = compileRuleFiles([
    {
      file: 'mappings/view.yaml',
      text: `rules:
  - id: by-instructor
    match:
      type: ViewEvent
      where:
        membership.roles: Instructor
    skip: instructors are not students
  - id: staff-or-numbered
    match:
      type: ViewEvent
      where:
        membership.roles: [Mentor, Administrator]
        'object.extensions["bb:index"]': [3, true]
    skip: two paths must both match
  - id: any-view
    match: { type: ViewEvent }
    skip: everything else
`,
    },
  ]);
  const ruleFor = (event: Record<string, unknown>) => rules.find('ViewEvent', 'Viewed', event)?.id;

  it('matches a path holding the value, or a list holding it among others', () => {
    expect(ruleFor({ membership: { roles: 'Instructor' } })).toBe('by-instructor');
    expect(ruleFor({ membership: { roles: ['Instructor'] } })).toBe('by-instructor');
    expect(ruleFor({ membership: { roles: ['Learner', 'Instructor'] } })).toBe('by-instructor');
  });

  it('reads text with commas as a list, as LTI 1.1 sends the launcher\'s roles', () => {
    expect(ruleFor({ membership: { roles: 'Learner,Instructor' } })).toBe('by-instructor');
    expect(ruleFor({ membership: { roles: 'urn:lti:instrole:ims/lis/Faculty, Instructor ' } })).toBe('by-instructor');
    expect(ruleFor({ membership: { roles: 'Learner,Instructor#TeachingAssistant' } })).toBe('any-view');
    expect(ruleFor({ membership: { roles: 'Learner Instructor' } })).toBe('any-view');
    // Blank items are none: the real ones beside them still count.
    expect(ruleFor({ membership: { roles: ' , Instructor, ,' } })).toBe('by-instructor');
    expect(ruleFor({ membership: { roles: [' , ', 'Instructor'] } })).toBe('by-instructor');
  });

  it('trims the rule\'s own values as it trims those read', () => {
    const trimmed = compileRuleFiles([{ file: 'mappings/x.yaml', text: 'rules:\n  - id: a\n    match: { type: X, where: { roles: [" Mentor ", "\\tTA"] } }\n    skip: s\n' }]);
    expect(trimmed.find('X', 'Viewed', { roles: ['Mentor'] })?.id).toBe('a');
    expect(trimmed.find('X', 'Viewed', { roles: 'TA' })?.id).toBe('a');
  });

  it('ignores spaces around the value, or around an item of a list', () => {
    expect(ruleFor({ membership: { roles: [' Instructor'] } })).toBe('by-instructor');
    expect(ruleFor({ membership: { roles: 'Instructor\n' } })).toBe('by-instructor');
    expect(ruleFor({ membership: { roles: ['Learner', 'Instructor '] } })).toBe('by-instructor');
    expect(ruleFor({ membership: { roles: ['In structor'] } })).toBe('any-view');
  });

  it('does not match a missing path, an empty list, other values, or a value of another kind', () => {
    expect(ruleFor({})).toBe('any-view');
    expect(ruleFor({ membership: {} })).toBe('any-view');
    expect(ruleFor({ membership: { roles: [] } })).toBe('any-view');
    expect(ruleFor({ membership: { roles: ['Learner'] } })).toBe('any-view');
    expect(ruleFor({ membership: { roles: 'Instructor#TeachingAssistant' } })).toBe('any-view');
    expect(ruleFor({ membership: { roles: [['Instructor']] } })).toBe('any-view');
    expect(ruleFor({ membership: { roles: { 0: 'Instructor' } } })).toBe('any-view');
  });

  it('takes any of a list of allowed values, and needs every path to match', () => {
    const numbered = (roles: unknown, index: unknown) => ruleFor({ membership: { roles }, object: { extensions: { 'bb:index': index } } });
    expect(numbered(['Mentor'], 3)).toBe('staff-or-numbered');
    expect(numbered(['Learner', 'Administrator'], true)).toBe('staff-or-numbered');
    expect(numbered(['Mentor'], '3')).toBe('any-view');
    expect(numbered(['Mentor'], 4)).toBe('any-view');
    expect(numbered(['Learner'], 3)).toBe('any-view');
    expect(ruleFor({ membership: { roles: ['Mentor'] } })).toBe('any-view');
  });

  it('makes a rule conditional: it shadows no later rule', () => {
    expect(rules.rules.map((rule) => [rule.id, rule.conditional])).toEqual([
      ['by-instructor', true],
      ['staff-or-numbered', true],
      ['any-view', false],
    ]);
  });

  it.each([
    ['an empty mapping', 'where: {}', 'mappings/x.yaml:5: rule "a": match.where: name at least one path'],
    ['an empty list of values', 'where: { membership.roles: [] }', 'mappings/x.yaml:5: rule "a": match.where["membership.roles"]: the list is empty'],
    ['empty text', 'where: { membership.roles: "" }', 'mappings/x.yaml:5: rule "a": match.where["membership.roles"]: the text is empty'],
    ['text of commas only', 'where: { membership.roles: [Mentor, " , "] }', 'mappings/x.yaml:5: rule "a": match.where["membership.roles"][1]: the text is only commas and spaces, which no value read from an event equals (text is split at commas, and blank items are no values)'],
    ['blank text', 'where: { membership.roles: [Mentor, "  "] }', 'mappings/x.yaml:5: rule "a": match.where["membership.roles"][1]: the text is empty'],
    // The one mapping a value may be is { const: … }; any other says so.
    ['a mapping as the value', 'where: { membership.roles: { any: Instructor } }', 'mappings/x.yaml:5: rule "a": match.where["membership.roles"].any: unknown key (a mapping here is { const: value } and holds nothing else: the value taken as written, for text starting with $)'],
    ['null among the values', 'where: { membership.roles: [Instructor, null] }', 'mappings/x.yaml:5: rule "a": match.where["membership.roles"][1]: expected text, or a number, or true or false, or a mapping, got null'],
    ['a list instead of a mapping', 'where: [membership.roles]', 'mappings/x.yaml:5: rule "a": match.where: expected a mapping, got a list'],
    ['an unquoted dotted key', 'where: { "actor.extensions.bb:user.id": x }', 'mappings/x.yaml:5: rule "a": match.where["actor.extensions.bb:user.id"]: bad path "actor.extensions.bb:user.id": keys containing dots, colons or spaces go in brackets and quotes, like extensions["bb:user.externalId"]'],
    ['a variable', 'where: { $student: x }', 'mappings/x.yaml:5: rule "a": match.where.$student: bad path "$student": variables cannot be used here, only paths into the input event'],
  ])('refuses %s when the file loads', (_what, where, problem) => {
    expect(problemsOf({ 'x.yaml': `rules:\n  - id: a\n    match:\n      type: X\n      ${where}\n    skip: s\n` })).toEqual([problem]);
  });
});

describe('match.whereNone', () => {
  // Only learners are credited: a rule that skips whoever holds roles none of which is a learner's.
  const rules = compileRuleFiles([
    {
      file: 'mappings/view.yaml',
      text: `rules:
  - id: by-non-learner
    match:
      type: ViewEvent
      whereNone:
        membership.roles: [Learner, 'Learner#NonCreditLearner']
    skip: only learners are credited
  - id: any-view
    match: { type: ViewEvent }
    skip: everything else
`,
    },
  ]);
  const ruleFor = (roles: unknown) => rules.find('ViewEvent', 'Viewed', roles === undefined ? {} : { membership: { roles } })?.id;

  it('matches a path holding values none of which is listed', () => {
    expect(ruleFor(['TeachingAssistant'])).toBe('by-non-learner');
    expect(ruleFor(['Instructor#TeachingAssistant', 'Mentor'])).toBe('by-non-learner');
    expect(ruleFor('Administrator')).toBe('by-non-learner');
    // Equality is strict, as for `where`: a sub-role is not its parent role.
    expect(ruleFor(['Learner#GuestLearner'])).toBe('by-non-learner');
  });

  it('does not match when any item is listed, comma-separated text included', () => {
    expect(ruleFor(['Learner'])).toBe('any-view');
    expect(ruleFor(['Mentor', 'Learner#NonCreditLearner'])).toBe('any-view');
    expect(ruleFor('urn:lti:instrole:ims/lis/Staff, Learner')).toBe('any-view');
    expect(ruleFor('Learner')).toBe('any-view');
  });

  it('does not match a path that holds nothing: missing, null, empty text or an empty list', () => {
    for (const roles of [undefined, null, '', []]) expect(ruleFor(roles)).toBe('any-view');
  });

  it('reads roles with stray spaces as the roles they name, and blank roles as no role given', () => {
    // A Learner role with a space around it is still a Learner's: not skipped as staff.
    for (const roles of [[' Learner'], ['Learner '], ['\tLearner#NonCreditLearner\n'], ' Learner ', 'Mentor, Learner ,'])
      expect(ruleFor(roles)).toBe('any-view');
    // Blank roles give no role, as [] does: not read as a non-learner's.
    for (const roles of [[''], ['', ' '], ' ', ' , ', ',', [' , '], ['', ','], [null]]) expect(ruleFor(roles)).toBe('any-view');
    // Real roles beside blank ones still count.
    expect(ruleFor(['', ' TeachingAssistant '])).toBe('by-non-learner');
    expect(ruleFor(' Mentor ,')).toBe('by-non-learner');
  });

  it('makes a rule conditional, and is checked like where', () => {
    expect(rules.rules.map((rule) => [rule.id, rule.conditional])).toEqual([
      ['by-non-learner', true],
      ['any-view', false],
    ]);
    expect(problemsOf({ 'x.yaml': 'rules:\n  - id: a\n    match:\n      type: X\n      whereNone: { membership.roles: [] }\n    skip: s\n' })).toEqual([
      'mappings/x.yaml:5: rule "a": match.whereNone["membership.roles"]: the list is empty',
    ]);
  });
});

describe('named lists ($lists.<name>)', () => {
  const lists = `lists:
  learner-roles: [Learner, 'Learner#NonCreditLearner']
  staff-roles:
    - Mentor
    - 3
`;
  const rules = compileRuleFiles([
    { file: 'mappings/lists.yaml', text: lists },
    {
      file: 'mappings/view.yaml',
      text: `rules:
  - id: by-staff-or-numbered
    match:
      type: ViewEvent
      where:
        membership.roles: [Administrator, $lists.staff-roles]
    skip: staff
  - id: by-non-learner
    match:
      type: ViewEvent
      whereNone:
        membership.roles: $lists.learner-roles
    skip: only learners are credited
  - id: any-view
    match: { type: ViewEvent }
    skip: everything else
`,
    },
  ]);
  const ruleFor = (roles: unknown) => rules.find('ViewEvent', 'Viewed', { membership: { roles } })?.id;

  it('stands for every value of the list, alone or among other values', () => {
    expect(ruleFor(['Administrator'])).toBe('by-staff-or-numbered');
    expect(ruleFor(['Mentor'])).toBe('by-staff-or-numbered');
    expect(ruleFor(3)).toBe('by-staff-or-numbered');
    expect(ruleFor(['TeachingAssistant'])).toBe('by-non-learner');
    expect(ruleFor(['Learner#NonCreditLearner'])).toBe('any-view');
    expect(ruleFor('Learner')).toBe('any-view');
  });

  it('takes { const: … } as the value written, $ and all, alone or beside lists and other values', () => {
    const literal = compileRuleFiles([
      { file: 'mappings/lists.yaml', text: lists },
      {
        file: 'mappings/view.yaml',
        text: `rules:
  - id: voucher
    match:
      type: ViewEvent
      where:
        object.name: { const: "$5 voucher" }
    skip: a literal alone
  - id: token-or-staff
    match:
      type: ViewEvent
      where:
        membership.roles: [{ const: " $lists.staff-roles " }, $lists.staff-roles, { const: 7 }]
    skip: a literal beside a list
  - id: not-placeholder
    match:
      type: ViewEvent
      whereNone:
        object.name: [{ const: $name }]
    skip: a literal in whereNone
  - id: any-view
    match: { type: ViewEvent }
    skip: everything else
`,
      },
    ]);
    const ruleFor = (event: unknown) => literal.find('ViewEvent', 'Viewed', event)?.id;
    expect(ruleFor({ object: { name: '$5 voucher' } })).toBe('voucher');
    expect(ruleFor({ object: { name: '$6 voucher' } })).toBe('not-placeholder');
    // The text "$lists.staff-roles" itself, trimmed as any value, and the list's own values.
    expect(ruleFor({ membership: { roles: ['$lists.staff-roles'] }, object: { name: '$name' } })).toBe('token-or-staff');
    expect(ruleFor({ membership: { roles: ['Mentor'] }, object: { name: '$name' } })).toBe('token-or-staff');
    expect(ruleFor({ membership: { roles: [7] }, object: { name: '$name' } })).toBe('token-or-staff');
    expect(ruleFor({ membership: { roles: ['7'] }, object: { name: '$name' } })).toBe('any-view');
    expect(ruleFor({ membership: { roles: ['Learner'] }, object: { name: ' $name ' } })).toBe('any-view');
  });

  it('takes { const: … } in lists.yaml as the value written, $ and all, trimmed as in a rule', () => {
    const withLiterals = compileRuleFiles([
      {
        file: 'mappings/lists.yaml',
        text: `lists:
  vouchers:
    - { const: " $5 voucher " }
    - { const: $lists.vouchers }
    - { const: 7 }
    - gift card
`,
      },
      {
        file: 'mappings/view.yaml',
        text: `rules:
  - id: voucher
    match:
      type: ViewEvent
      where:
        object.name: $lists.vouchers
    skip: a list of literals
  - id: any-view
    match: { type: ViewEvent }
    skip: everything else
`,
      },
    ]);
    const ruleFor = (name: unknown) => withLiterals.find('ViewEvent', 'Viewed', { object: { name } })?.id;
    expect(ruleFor('$5 voucher')).toBe('voucher');
    // Inside const, $lists.… is the text itself, not the list.
    expect(ruleFor('$lists.vouchers')).toBe('voucher');
    expect(ruleFor(7)).toBe('voucher');
    expect(ruleFor('gift card')).toBe('voucher');
    expect(ruleFor('7')).toBe('any-view');
    expect(ruleFor('$6 voucher')).toBe('any-view');
  });

  it('is not a rule file: lists.yaml adds no rules and no file to the order', () => {
    expect(rules.files).toEqual(['mappings/view.yaml']);
    expect(rules.rules.map((rule) => rule.id)).toEqual(['by-staff-or-numbered', 'by-non-learner', 'any-view']);
  });

  const usingList = (values: string) => `rules:\n  - id: by-non-learner\n    match:\n      type: X\n      whereNone: { membership.roles: ${values} }\n    skip: s\n`;

  it.each([
    ['a list lists.yaml does not define', { 'lists.yaml': lists, 'x.yaml': usingList('$lists.learner-role') },
      'mappings/x.yaml:5: rule "by-non-learner": match.whereNone["membership.roles"]: names the list "$lists.learner-role", but mappings/lists.yaml defines no list "learner-role" (lists there: learner-roles, staff-roles)'],
    ['an unknown list among other values', { 'lists.yaml': lists, 'x.yaml': usingList('[Mentor, $lists.nope]') },
      'mappings/x.yaml:5: rule "by-non-learner": match.whereNone["membership.roles"][1]: names the list "$lists.nope", but mappings/lists.yaml defines no list "nope" (lists there: learner-roles, staff-roles)'],
    ['a list without a lists.yaml', { 'x.yaml': usingList('$lists.learner-roles') },
      'mappings/x.yaml:5: rule "by-non-learner": match.whereNone["membership.roles"]: names the list "$lists.learner-roles", but there is no lists.yaml in the mappings folder'],
    ['text starting with $ that is no list reference', { 'lists.yaml': lists, 'x.yaml': usingList('$learner-roles') },
      'mappings/x.yaml:5: rule "by-non-learner": match.whereNone["membership.roles"]: unknown reference "$learner-roles": text starting with $ names a list, $lists.<name>, defined in lists.yaml; for the text itself, write { const: "$learner-roles" }'],
    ['a list name that is not kebab-case', { 'lists.yaml': lists, 'x.yaml': usingList('[Mentor, $lists.Learner_Roles]') },
      'mappings/x.yaml:5: rule "by-non-learner": match.whereNone["membership.roles"][1]: "$lists.Learner_Roles" is no list name: list names are kebab-case (lowercase letters, digits and single dashes), as in lists.yaml; for the text itself, write { const: "$lists.Learner_Roles" }'],
    ['a literal that is empty', { 'x.yaml': usingList('{ const: " " }') },
      'mappings/x.yaml:5: rule "by-non-learner": match.whereNone["membership.roles"].const: the text is empty'],
    ['a literal with const misspelt', { 'x.yaml': usingList('[{ cosnt: $x }]') },
      'mappings/x.yaml:5: rule "by-non-learner": match.whereNone["membership.roles"][0].cosnt: unknown key; did you mean "const"? (a mapping here is { const: value } and holds nothing else: the value taken as written, for text starting with $)'],
    ['a literal without its value', { 'x.yaml': usingList('{}') },
      'mappings/x.yaml:5: rule "by-non-learner": match.whereNone["membership.roles"]: const is missing (a mapping here is { const: value } and holds nothing else: the value taken as written, for text starting with $)'],
    ['a literal holding a list', { 'x.yaml': usingList('{ const: [$a, $b] }') },
      'mappings/x.yaml:5: rule "by-non-learner": match.whereNone["membership.roles"].const: expected text, or a number, or true or false, got a list'],
  ])('refuses %s when the files load', (_what, files, problem) => {
    expect(problemsOf(files)).toEqual([problem]);
  });

  it.each([
    ['an unknown key', 'lists: { a: [x] }\nlist: {}\n', 'mappings/lists.yaml:2: list: unknown key; did you mean "lists"? (known here: description, lists)'],
    ['a name that is not kebab-case', 'lists:\n  Learner_Roles: [x]\n', 'mappings/lists.yaml:2: lists.Learner_Roles: list names are kebab-case: lowercase letters, digits and single dashes'],
    ['an empty list', 'lists:\n  learner-roles: []\n', 'mappings/lists.yaml:2: lists["learner-roles"]: the list is empty'],
    ['a list naming another list', 'lists:\n  a: [x]\n  b: [$lists.a]\n', 'mappings/lists.yaml:3: lists.b[0]: a list holds values, not references to other lists (list the values here); for the text itself, write { const: "$lists.a" }'],
    ['other text starting with $', 'lists:\n  a: [x, " $5 voucher"]\n', 'mappings/lists.yaml:2: lists.a[1]: text starting with $ names a list in rules, and a list holds no references; for the text itself, write { const: "$5 voucher" }'],
    // { const: … } is refused as in a rule, with the same messages.
    ['a literal that is empty', 'lists:\n  a: [{ const: " " }]\n', 'mappings/lists.yaml:2: lists.a[0].const: the text is empty'],
    ['a literal with const misspelt', 'lists:\n  a:\n    - x\n    - { cosnt: $x }\n', 'mappings/lists.yaml:4: lists.a[1].cosnt: unknown key; did you mean "const"? (a mapping here is { const: value } and holds nothing else: the value taken as written, for text starting with $)'],
    ['a literal without its value', 'lists:\n  a: [{}]\n', 'mappings/lists.yaml:2: lists.a[0]: const is missing (a mapping here is { const: value } and holds nothing else: the value taken as written, for text starting with $)'],
    ['a literal holding a list', 'lists:\n  a: [{ const: [$a, $b] }]\n', 'mappings/lists.yaml:2: lists.a[0].const: expected text, or a number, or true or false, got a list'],
    ['a value of commas only', 'lists:\n  a: [x, ", "]\n', 'mappings/lists.yaml:2: lists.a[1]: the text is only commas and spaces, which no value read from an event equals (text is split at commas, and blank items are no values)'],
    ['an empty file', '# to come\n', 'mappings/lists.yaml: the file is empty (or only comments); lists.yaml holds lists: followed by named lists. Delete it if no rule uses a list'],
  ])('refuses a lists.yaml with %s, and reports no reference problems on top', (_what, text, problem) => {
    expect(problemsOf({ 'lists.yaml': text, 'x.yaml': usingList('$lists.a') })).toEqual([problem]);
  });
});

describe('computed actions and profiles', () => {
  const mediaRule = (match: string, action: string, profile = 'MediaProfile') => `
rules:
  - id: ims-media
    match: ${match}
    student: [actor.id]
    output:
      type: MediaEvent
      action: ${action}
      profile: ${profile}
      object: { from: object, transform: entity }
`;

  it('refuses a rule that keeps the input action when it matches an action its output type does not allow', () => {
    expect(problemsOf({ 'x.yaml': mediaRule('{ type: MediaEvent, action: [Paused, Rewound, EnabledCloseCaptioning] }', '{ from: action }') })).toEqual([
      'mappings/x.yaml:8: rule "ims-media": output.action: MediaEvent does not allow Rewound (an input action it matches) (allowed: Started, Ended, Paused, Resumed, Restarted, ForwardedTo, JumpedTo, ChangedResolution, ChangedSize, ChangedSpeed, ChangedVolume, EnabledClosedCaptioning, DisabledClosedCaptioning, EnteredFullScreen, ExitedFullScreen, Muted, Unmuted, OpenedPopout, ClosedPopout)',
    ]);
  });

  it('refuses a map or default that can produce an action or profile the output type does not allow', () => {
    const action = '{ from: action, map: { Rewound: JumpedTo, Skipped: Skipped }, default: Reset }';
    expect(problemsOf({ 'x.yaml': mediaRule('{ type: MediaEvent }', action) })[0]).toMatch(
      /^mappings\/x\.yaml:8: rule "ims-media": output\.action: MediaEvent does not allow Skipped \(its map, for Skipped\), Reset \(its default\) \(allowed: /,
    );
    const profile = '{ from: object.type, map: { VideoObject: MediaProfile, Document: ReadingProfile } }';
    expect(problemsOf({ 'x.yaml': mediaRule('{ type: MediaEvent }', '{ from: action }', profile) })).toEqual([
      'mappings/x.yaml:9: rule "ims-media": output.profile: ReadingProfile (its map, for Document) does not carry MediaEvent (use MediaProfile)',
    ]);
  });

  it('names what the output type allows beside an action or profile that is not Caliper 1.2 at all', () => {
    expect(problemsOf({ 'x.yaml': mediaRule('{ type: MediaEvent }', 'Rewind', 'Media') })).toEqual([
      'mappings/x.yaml:8: rule "ims-media": output.action: "Rewind" is not a Caliper 1.2 action (MediaEvent allows: Started, Ended, Paused, Resumed, Restarted, ForwardedTo, JumpedTo, ChangedResolution, ChangedSize, ChangedSpeed, ChangedVolume, EnabledClosedCaptioning, DisabledClosedCaptioning, EnteredFullScreen, ExitedFullScreen, Muted, Unmuted, OpenedPopout, ClosedPopout)',
      'mappings/x.yaml:9: rule "ims-media": output.profile: "Media" is not a Caliper 1.2 profile (MediaEvent goes in: MediaProfile)',
    ]);
  });

  it('refuses map values and defaults that are not Caliper 1.2 terms, and keys a computed value does not take', () => {
    expect(problemsOf({ 'x.yaml': mediaRule('{ type: MediaEvent }', '{ from: action, map: { Rewound: Rewind } }') })).toEqual([
      'mappings/x.yaml:8: rule "ims-media": output.action.map.Rewound: "Rewind" is not a Caliper 1.2 action',
    ]);
    expect(problemsOf({ 'x.yaml': mediaRule('{ type: MediaEvent }', '{ from: action }', '{ from: object.type, default: Media }') })).toEqual([
      'mappings/x.yaml:9: rule "ims-media": output.profile.default: "Media" is not a Caliper 1.2 profile',
    ]);
    expect(problemsOf({ 'x.yaml': mediaRule('{ type: MediaEvent }', '{ from: action, transform: lowercase }') })).toEqual([
      'mappings/x.yaml:8: rule "ims-media": output.action.transform: unknown key; known here: from, map, default',
    ]);
    expect(problemsOf({ 'x.yaml': mediaRule('{ type: MediaEvent }', '{ map: { Rewound: JumpedTo } }') })).toEqual([
      'mappings/x.yaml:8: rule "ims-media": output.action.from: required (text, or a list)',
    ]);
  });

  it('accepts what it cannot check before events arrive, and everything the output type allows', () => {
    const accepted = (text: string) => compileRuleFiles([{ file: 'mappings/x.yaml', text }]).rules.map((rule) => rule.id);
    // Any MediaEvent action may arrive here; the validator checks each event.
    expect(accepted(mediaRule('{ type: MediaEvent }', '{ from: action }'))).toEqual(['ims-media']);
    // The misspelling Learn's context uses is sent as the 1.2 term.
    expect(accepted(mediaRule('{ type: MediaEvent, action: [Paused, EnabledCloseCaptioning] }', '{ from: action }'))).toEqual(['ims-media']);
    expect(accepted(mediaRule('{ type: MediaEvent }', '{ from: action, map: { Rewound: JumpedTo } }', '{ from: object.type, map: { VideoObject: MediaProfile }, default: MediaProfile }'))).toEqual(['ims-media']);
  });
});

describe('output.actor', () => {
  const withActor = (type: string, action: string, actor: string, match = 'type: X') =>
    `rules:\n  - id: custom\n    match: { ${match} }\n    student: [actor.id]\n    output:\n      type: ${type}\n      action: ${action}\n      profile: ${type === 'SessionEvent' ? 'SessionProfile' : type === 'GradeEvent' ? 'GradingProfile' : type === 'MessageEvent' ? 'ForumProfile' : 'ReadingProfile'}\n      object: { id: { from: object.id }, type: ${type === 'SessionEvent' ? 'SoftwareApplication' : type === 'GradeEvent' ? 'Attempt' : type === 'MessageEvent' ? 'Message' : 'Document'} }\n${actor === '' ? '' : `      actor: ${actor}\n`}`;
  const unknownActor =
    'TimeBack knows only two actors: the student ($student, the default when actor is left out) and, where the event type lets software act, this app ($edApp); write one of them, as text or { from: $… }';

  it.each([
    ["Learn's own actor, copied", '{ from: actor, transform: entity }'],
    ["Learn's actor IRI", '{ from: actor.id }'],
    ['an input path before $student', '{ from: [actor.id, $student] }'],
    ['a literal IRI', 'https://school.example.edu/users/7'],
    ['another variable', '$sensor'],
    ['the bare platform id', '$platformId'],
    ['an entity with a Learn id', '{ id: { from: actor.id }, type: Person }'],
    ['a const', '{ const: { id: x } }'],
  ])('refuses %s as the actor when the file loads, naming file, line, rule and field', (_what, actor) => {
    expect(problemsOf({ 'x.yaml': withActor('MessageEvent', 'Posted', actor) })).toEqual([`mappings/x.yaml:10: rule "custom": output.actor: ${unknownActor}`]);
  });

  it('refuses $edApp where only a person acts, and $student where only software does', () => {
    expect(problemsOf({ 'x.yaml': withActor('MessageEvent', 'Posted', '$edApp') })).toEqual([
      'mappings/x.yaml:10: rule "custom": output.actor: $edApp cannot be the actor of a MessageEvent: its actor is a person, and the only person TimeBack knows is the student ($student, the default: leave actor out)',
    ]);
    expect(problemsOf({ 'x.yaml': withActor('SessionEvent', 'LoggedIn', '{ from: $edApp }') })).toEqual([
      'mappings/x.yaml:10: rule "custom": output.actor: $edApp cannot be the actor of a SessionEvent LoggedIn: its actor is a person, and the only person TimeBack knows is the student ($student, the default: leave actor out)',
    ]);
    // Left out, the actor is the student: the problem is reported at the output.
    expect(problemsOf({ 'x.yaml': withActor('SessionEvent', 'TimedOut', '') })).toEqual([
      'mappings/x.yaml:5: rule "custom": output.actor: the actor is $student (the default when actor is left out), but a SessionEvent TimedOut is done by software: set actor: $edApp',
    ]);
  });

  it('refuses an actor that some action a computed action can produce does not allow', () => {
    expect(problemsOf({ 'x.yaml': withActor('SessionEvent', '{ from: action }', '$edApp', 'type: X, action: [LoggedIn, TimedOut, LoggedOut]') })).toEqual([
      'mappings/x.yaml:10: rule "custom": output.actor: $edApp cannot be the actor of a SessionEvent LoggedIn or LoggedOut: its actor is a person, and the only person TimeBack knows is the student ($student, the default: leave actor out)',
    ]);
  });

  it('accepts the student and this app wherever they may act, and leaves to events what the file cannot tell', () => {
    const accepted = (text: string) => compileRuleFiles([{ file: 'mappings/x.yaml', text }]).rules.map((rule) => rule.id);
    for (const text of [
      withActor('MessageEvent', 'Posted', ''),
      withActor('MessageEvent', 'Posted', '$student'),
      withActor('MessageEvent', 'Posted', '{ from: [$student, actor.id] }'),
      withActor('MessageEvent', 'Posted', '{ id: $student, type: Person }'),
      withActor('GradeEvent', 'Graded', '{ from: $edApp }'),
      withActor('ViewEvent', 'Viewed', '$edApp'),
      withActor('SessionEvent', 'TimedOut', '{ id: { from: $edApp }, type: SoftwareApplication }'),
      // Any action, kept: which one arrives is known only then (the validator rejects a LoggedIn).
      withActor('SessionEvent', '{ from: action }', '$edApp'),
    ]) {
      expect(accepted(text)).toEqual(['custom']);
    }
  });
});

describe('rule files on disk', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every *.yaml but user-overrides.yaml and lists.yaml, in name order, and nothing else', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rules-'));
    const skip = (id: string) => `rules:\n  - id: ${id}\n    match: { type: ${id} }\n    skip: s\n`;
    writeFileSync(join(dir, 'b-second.yaml'), skip('b'));
    writeFileSync(join(dir, 'a-first.yaml'), skip('a'));
    writeFileSync(join(dir, 'user-overrides.yaml'), 'overrides:\n  x: y\n');
    writeFileSync(join(dir, 'lists.yaml'), 'lists:\n  staff: [Mentor]\n');
    writeFileSync(join(dir, 'README.md'), '# not rules');
    writeFileSync(join(dir, 'rule.schema.json'), '{}');
    mkdirSync(join(dir, 'nested.yaml'));
    expect((await listRuleFiles(dir)).map((file) => file.slice(dir.length + 1))).toEqual(['a-first.yaml', 'b-second.yaml']);
    const rules = await loadRules(dir);
    expect(rules.rules.map((rule) => rule.id)).toEqual(['a', 'b']);
  });

  it('refuses a file named like a rule file that would not be read, saying what to rename it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rules-'));
    const skip = (id: string) => `rules:\n  - id: ${id}\n    match: { type: ${id} }\n    skip: s\n`;
    writeFileSync(join(dir, 'a-first.yaml'), skip('a'));
    writeFileSync(join(dir, 'forum-event.yml'), skip('b'));
    writeFileSync(join(dir, 'Grade-Event.YAML'), skip('c'));
    // Not a rule file at all, and the overrides' own misspelling is check-mappings' to report.
    writeFileSync(join(dir, 'user-overrides.yml'), 'overrides: {}\n');
    writeFileSync(join(dir, 'forum-event.yaml.bak'), skip('d'));
    // The named lists too: read from lists.yaml only, so rules naming them would all be refused.
    writeFileSync(join(dir, 'lists.yml'), 'lists:\n  staff: [Mentor]\n');
    const problems = await loadRules(dir).then(
      () => [],
      (err: RuleLoadError) => err.problems,
    );
    expect(problems).toEqual([
      expect.stringMatching(/Grade-Event\.YAML: not read: only files ending in \.yaml hold rules; rename it Grade-Event\.yaml \(or move it out of the mappings folder\)$/),
      expect.stringMatching(/forum-event\.yml: not read: only files ending in \.yaml hold rules; rename it forum-event\.yaml /),
      expect.stringMatching(/lists\.yml: not read: .*; rename it lists\.yaml /),
    ]);
  });

  it('reads a rule file through a symlink, and skips a symlink that points nowhere', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rules-'));
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    writeFileSync(join(shared, 'forum-event.yaml'), 'rules:\n  - id: linked\n    match: { type: X }\n    skip: s\n');
    const mappings = join(dir, 'mappings');
    mkdirSync(mappings);
    symlinkSync(join(shared, 'forum-event.yaml'), join(mappings, 'forum-event.yaml'));
    // What emacs leaves while a file is being edited: a link to nowhere.
    symlinkSync('admin@host.4242:1700000000', join(mappings, '.#forum-event.yaml'));
    expect((await loadRules(mappings)).rules.map((rule) => rule.id)).toEqual(['linked']);
  });

  it('refuses a folder without rule files, which would skip every event as no-rule', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rules-'));
    writeFileSync(join(dir, 'user-overrides.yaml'), 'overrides:\n  x: y\n');
    await expect(loadRules(dir)).rejects.toThrow(/no rule files \(\*\.yaml\) in the mappings folder; set MAPPINGS_DIR/);
  });

  it('says so when the folder cannot be read', async () => {
    dir = join(tmpdir(), 'no-such-mappings-folder-for-caliper-gateway');
    await expect(loadRules(dir)).rejects.toThrow(/cannot read the mappings folder/);
  });
});
