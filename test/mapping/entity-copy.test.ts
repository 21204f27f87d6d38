/**
 * copyEntity's edges, beside the Learn-shaped cases in transforms.test.ts (`entity`): where
 * the depth bound cuts, JSON-LD's @id/@type, a rename whose target is already there, which
 * plain values count as empty or are read as another kind, and the inputs that leave nothing.
 */
import { describe, expect, it } from 'vitest';
import { copyEntity, copyEntityWithWrittenText } from '../../src/mapping/entity-copy.ts';

type Nested = { id: string; type: string; isPartOf?: Nested | string };

/** A chain of `levels` Pages, each part of the next, the outermost first. */
function pageChain(levels: number): Nested {
  let chain: Nested = { id: `https://x.example/${levels - 1}`, type: 'Page' };
  for (let i = levels - 2; i >= 0; i--) chain = { id: `https://x.example/${i}`, type: 'Page', isPartOf: chain };
  return chain;
}

/** The isPartOf values of a copied chain, outermost first, down to the first one that is not an object. */
function levelsOf(copied: unknown): unknown[] {
  const seen: unknown[] = [];
  let at = copied;
  while (at !== null && typeof at === 'object') {
    seen.push(at);
    at = (at as Nested).isPartOf;
  }
  if (at !== undefined) seen.push(at);
  return seen;
}

describe('copyEntity', () => {
  it('copies 25 levels of nesting whole and reduces the next entity to its id', () => {
    const levels = levelsOf(copyEntity(pageChain(30)));
    expect(levels).toHaveLength(26);
    expect(levels[24]).toEqual({ id: 'https://x.example/24', type: 'Page', isPartOf: 'https://x.example/25' });
    expect(levels[25]).toBe('https://x.example/25');
    // A shallower chain is copied to its end.
    expect(levelsOf(copyEntity(pageChain(25))).at(-1)).toEqual({ id: 'https://x.example/24', type: 'Page' });
  });

  it('leaves out lists nested in a list of text, however deep', () => {
    const nest = (depth: number): unknown => (depth === 0 ? 'deep' : [nest(depth - 1)]);
    expect(copyEntity({ id: 'https://x.example/d', type: 'DigitalResource', keywords: ['bio', nest(2), nest(30)] })).toEqual({
      id: 'https://x.example/d',
      type: 'DigitalResource',
      keywords: ['bio'],
    });
  });

  it('reads JSON-LD @id and @type as id and type', () => {
    expect(copyEntity({ '@id': 'https://x.example/p', '@type': 'http://purl.imsglobal.org/caliper/Page', name: 'Week 1' })).toEqual({
      id: 'https://x.example/p',
      type: 'Page',
      name: 'Week 1',
    });
  });

  it('keeps a 1.2 property the source already has over the 1.1 one that would be renamed to it', () => {
    expect(copyEntity({ id: 'https://x.example/r', type: 'Result', resultScore: 9, totalScore: 8 })).toEqual({ id: 'https://x.example/r', type: 'Result', resultScore: 9 });
  });

  it('leaves out empty text, nulls and empty lists and maps, and keeps zero and false', () => {
    expect(
      copyEntity({ id: 'https://x.example/d', type: 'DigitalResource', name: '', version: null, keywords: ['', null, 'bio', [], {}], mediaType: '' }),
    ).toEqual({ id: 'https://x.example/d', type: 'DigitalResource', keywords: ['bio'] });
    expect(copyEntity({ id: 'https://x.example/a', type: 'Attempt', count: 0 })).toEqual({ id: 'https://x.example/a', type: 'Attempt', count: 0 });
    expect(copyEntity({ id: 'https://x.example/q', type: 'AssessmentItem', isTimeDependent: false })).toEqual({
      id: 'https://x.example/q',
      type: 'AssessmentItem',
      isTimeDependent: false,
    });
  });

  // Learn writes some membership roles as LIS IRIs (its staff roles); Caliper 1.2 wants the term.
  it('writes vocabulary IRIs as the Caliper terms they stand for, and leaves out a value that is no term', () => {
    const member = {
      id: 'https://x.example/m/1',
      type: 'Membership',
      roles: [
        'Learner',
        'http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper',
        'http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant',
        'Student',
      ],
      status: 'http://purl.imsglobal.org/vocab/lis/v2/status#Active',
    };
    expect(copyEntity(member)).toEqual({
      id: 'https://x.example/m/1',
      type: 'Membership',
      roles: ['Learner', 'ContentDeveloper', 'Instructor#TeachingAssistant'],
      status: 'Active',
    });
    expect(copyEntity({ id: 'https://x.example/m/2', type: 'Membership', roles: ['Student'], status: 'Enrolled' })).toEqual({
      id: 'https://x.example/m/2',
      type: 'Membership',
    });
    expect(
      copyEntity({ id: 'https://x.example/l', type: 'LtiLink', messageType: 'http://purl.imsglobal.org/caliper/lti/LtiResourceLinkRequest' }),
    ).toEqual({ id: 'https://x.example/l', type: 'LtiLink', messageType: 'LtiResourceLinkRequest' });
  });

  // The validator refuses a value of the wrong kind and with it the whole event; Learn sends some
  // numbers and flags as text.
  it('reads numbers, flags and text written as another kind, and leaves out what is none', () => {
    expect(
      copyEntity({
        id: 'https://x.example/q',
        type: 'AssessmentItem',
        maxScore: ' 7.5 ',
        maxAttempts: 'unlimited',
        isTimeDependent: 'TRUE',
        version: 3,
        name: false,
        keywords: 'algebra',
        dateToSubmit: 1760400000000,
      }),
    ).toEqual({ id: 'https://x.example/q', type: 'AssessmentItem', maxScore: 7.5, isTimeDependent: true, version: '3' });
    expect(copyEntity({ id: 'https://x.example/d', type: 'DigitalResource', keywords: ['bio', 3, true, 'chem'], mediaType: {} })).toEqual({
      id: 'https://x.example/d',
      type: 'DigitalResource',
      keywords: ['bio', 'chem'],
    });
  });

  it.each([
    ['text that is no IRI', 'not an iri'],
    ['a number', 42],
    ['null', null],
    ['a person without an id', { type: 'Person', name: 'Pat' }],
    ['an entity of a type that needs an id, without one', { type: 'Page', name: 'untitled' }],
    ['an object with neither id nor type', { name: 'x' }],
    ['a list of nothing usable', [null, 'not an iri', { type: 'Page' }]],
  ])('gives nothing for %s', (_what, value) => {
    expect(copyEntity(value)).toBeUndefined();
  });

  it('never lets a "__proto__" key of the input become a copied value\'s prototype', () => {
    const source = JSON.parse(
      '{"id": "https://x.example/d", "type": "DigitalResource", "__proto__": {"polluted": true}, "keywords": ["k"], "isPartOf": {"id": "https://x.example/c", "type": "DigitalResource", "__proto__": {"name": "x"}}}',
    );
    const copied = copyEntity(source) as Record<string, Record<string, unknown>>;
    expect(Object.getPrototypeOf(copied)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(copied.isPartOf)).toBe(Object.prototype);
    expect(copied.polluted).toBeUndefined();
    expect(copied).toEqual({ id: 'https://x.example/d', type: 'DigitalResource', keywords: ['k'], isPartOf: { id: 'https://x.example/c', type: 'DigitalResource' } });
  });

  it('leaves out a maximum that is not above zero, as Learn writes one it does not know', () => {
    expect(
      copyEntity({
        id: 'https://x.example/q',
        type: 'AssessmentItem',
        maxAttempts: 0,
        maxSubmits: '0',
        maxScore: 0,
        isPartOf: { id: 'https://x.example/t', type: 'Assessment', maxAttempts: 1, maxSubmits: -1, maxScore: 300 },
      }),
    ).toEqual({ id: 'https://x.example/q', type: 'AssessmentItem', isPartOf: { id: 'https://x.example/t', type: 'Assessment', maxAttempts: 1, maxScore: 300 } });
    expect(copyEntity({ id: 'https://x.example/s', type: 'Score', scoreGiven: 0, maxScore: 0 })).toEqual({ id: 'https://x.example/s', type: 'Score', scoreGiven: 0 });
  });

  it('gives the id of an object without a type', () => {
    expect(copyEntity({ id: 'https://x.example/z', name: 'untyped' })).toBe('https://x.example/z');
  });

  // What a student typed or chose to quote, and a grader's comment about them: TimeBack gets the
  // activity and the score, not the text. Answers chosen from a fixed set stay.
  it.each([
    ['a tag annotation', { id: 'https://x.example/a/1', type: 'TagAnnotation', tags: ['mills', 'my village'], annotated: 'https://x.example/p/4' }, { annotated: 'https://x.example/p/4' }],
    ['a highlight', { id: 'https://x.example/a/2', type: 'HighlightAnnotation', selectionText: 'one worker, eight threads', selection: { type: 'TextPositionSelector', start: 3, end: 9 } }, { selection: { type: 'TextPositionSelector', start: 3, end: 9 } }],
    ['an annotation named by its author', { id: 'https://x.example/a/3', type: 'SharedAnnotation', name: 'for my study group', description: 'see para 2' }, {}],
    ['a search query', { id: 'https://x.example/q/1', type: 'Query', searchTerms: 'why child workers', dateCreated: '2025-11-03T09:21:12.000Z' }, { dateCreated: '2025-11-03T09:21:12.000Z' }],
    ['a fill-in-the-blank answer', { id: 'https://x.example/r/1', type: 'FillinBlankResponse', values: ['photosynthesis', 'chlorophyl'], startedAtTime: '2025-11-03T09:00:00.000Z' }, { startedAtTime: '2025-11-03T09:00:00.000Z' }],
    ['a select-text answer', { id: 'https://x.example/r/2', type: 'SelectTextResponse', values: ['the second sentence'] }, {}],
    ["a grader's comment on a score", { id: 'https://x.example/s/1', type: 'Score', scoreGiven: 14, maxScore: 20, comment: 'Lena, cite more evidence.' }, { scoreGiven: 14, maxScore: 20 }],
    ["a grader's comment on a result", { id: 'https://x.example/s/2', type: 'Result', resultScore: 14, comment: 'Good.' }, { resultScore: 14 }],
    ['a comment\'s title', { id: 'https://x.example/c/1', type: 'Comment', name: 'Re: my essay', value: 'I disagree' }, {}],
  ])('leaves out the text in %s', (_what, source, kept) => {
    const { id, type } = source;
    expect(copyEntity(source)).toEqual({ id, type, ...kept });
    // A rule that lists written-text in allowPii gets it all.
    const { id: _id, type: _type, ...rest } = source as Record<string, unknown>;
    expect(copyEntityWithWrittenText(source)).toEqual({ id, type, ...rest });
  });

  it('keeps answers chosen from a fixed set, and the written text of nested entities is left out too', () => {
    expect(copyEntity({ id: 'https://x.example/r/3', type: 'MultipleChoiceResponse', value: 'C' })).toEqual({ id: 'https://x.example/r/3', type: 'MultipleChoiceResponse', value: 'C' });
    expect(copyEntity({ id: 'https://x.example/r/4', type: 'TrueFalseResponse', value: 'true' })).toEqual({ id: 'https://x.example/r/4', type: 'TrueFalseResponse', value: 'true' });
    expect(
      copyEntity({ id: 'https://x.example/sr/1', type: 'SearchResponse', query: { id: 'https://x.example/q/2', type: 'Query', searchTerms: 'my essay' }, searchResultsItemCount: 3 }),
    ).toEqual({ id: 'https://x.example/sr/1', type: 'SearchResponse', query: { id: 'https://x.example/q/2', type: 'Query' }, searchResultsItemCount: 3 });
  });
});
