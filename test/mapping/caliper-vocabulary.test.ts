import { describe, expect, it } from 'vitest';
import {
  ACTIONS, ACTION_ALIASES, ENTITY_PROPERTIES, ENTITY_SUPERTYPE, ENTITY_TYPE_PROPERTIES, ENTITY_TYPES, ENTITY_VALUED_PROPERTIES, EVENTS,
  EVENT_PROPERTIES,
  PROFILES, actionTerm, isA, sessionEventRanges,
} from '../../src/mapping/caliper-vocabulary.ts';

describe('the Caliper 1.2 vocabulary', () => {
  it('lists 80 actions, 15 profiles, and the generic Event with 21 typed events', () => {
    expect(new Set(ACTIONS).size).toBe(80);
    expect(new Set(PROFILES).size).toBe(15);
    expect(Object.keys(EVENTS)).toHaveLength(22);
  });

  it('only names actions, profiles and entity types it defines', () => {
    for (const [type, definition] of Object.entries(EVENTS)) {
      for (const action of definition.actions) expect(ACTIONS, `${type} ${action}`).toContain(action);
      for (const profile of definition.profiles) expect(PROFILES, `${type} ${profile}`).toContain(profile);
      const ranges = [definition.actor, definition.object, ...('generated' in definition ? [definition.generated] : [])];
      for (const range of ranges) for (const entity of range) expect(ENTITY_TYPES.has(entity), `${type}: ${entity}`).toBe(true);
    }
    for (const target of Object.values(ACTION_ALIASES)) expect(ACTIONS).toContain(target);
    for (const parent of Object.values(ENTITY_SUPERTYPE)) if (parent !== null) expect(ENTITY_TYPES.has(parent)).toBe(true);
  });

  it('carries every event type in at least one profile, and GeneralProfile only for the generic Event', () => {
    for (const [type, definition] of Object.entries(EVENTS)) {
      expect(definition.profiles.length, type).toBeGreaterThan(0);
      expect((definition.profiles as readonly string[]).includes('GeneralProfile')).toBe(type === 'Event');
    }
  });

  it('knows the supertypes the event ranges rely on', () => {
    expect(isA('CourseSection', 'Organization')).toBe(true);
    expect(isA('Assessment', 'AssignableDigitalResource')).toBe(true);
    expect(isA('VideoObject', 'DigitalResource')).toBe(true);
    expect(isA('Thread', 'DigitalResource')).toBe(true);
    expect(isA('LtiSession', 'Session')).toBe(true);
    expect(isA('Person', 'DigitalResource')).toBe(false);
    expect(sessionEventRanges('TimedOut')).toEqual({ actor: ['SoftwareApplication'], object: ['Session'] });
  });

  it('gives every entity type its properties, from its own vocabulary, and uses every entity property somewhere', () => {
    expect([...ENTITY_TYPE_PROPERTIES.keys()].sort()).toEqual([...ENTITY_TYPES].sort());
    const used = new Set<string>();
    for (const [type, properties] of ENTITY_TYPE_PROPERTIES) {
      for (const name of properties) {
        expect(ENTITY_PROPERTIES.has(name), `${type}.${name}`).toBe(true);
        used.add(name);
      }
    }
    // In the 1.2 context, but on no 1.2 entity's property table.
    const unused = [...ENTITY_PROPERTIES].filter((name) => !used.has(name));
    expect(unused).toEqual(['lisSourcedId']);
  });

  it('inherits properties down the type tree, and not across it', () => {
    const has = (type: string, name: string) => ENTITY_TYPE_PROPERTIES.get(type)!.has(name);
    expect(has('Assessment', 'items') && has('Assessment', 'maxScore') && has('Assessment', 'isPartOf') && has('Assessment', 'name')).toBe(true);
    expect(has('CourseSection', 'category') && has('CourseSection', 'courseNumber') && has('CourseSection', 'subOrganizationOf')).toBe(true);
    expect(has('LtiSession', 'messageParameters') && has('LtiSession', 'user')).toBe(true);
    expect(has('Person', 'maxScore')).toBe(false);
    expect(has('Group', 'courseNumber')).toBe(false);
    expect(has('AssessmentItem', 'items')).toBe(false);
    expect(has('Session', 'messageParameters')).toBe(false);
    // Not full entities: none of Entity's own properties.
    expect(has('SystemIdentifier', 'name') || has('TextPositionSelector', 'dateCreated')).toBe(false);
    expect(has('TextPositionSelector', 'start')).toBe(true);
  });

  it('keeps event-only properties off entities', () => {
    for (const name of ['actor', 'action', 'object', 'eventTime', 'edApp', 'session', 'profile']) expect(ENTITY_PROPERTIES.has(name), name).toBe(false);
    for (const name of ['assignee', 'isPartOf', 'scoreGiven', 'dateCreated', 'extensions']) expect(ENTITY_PROPERTIES.has(name), name).toBe(true);
    for (const name of ENTITY_VALUED_PROPERTIES) expect(ENTITY_PROPERTIES.has(name) || EVENT_PROPERTIES.has(name), name).toBe(true);
  });
});

describe('actionTerm', () => {
  it('fixes known misspellings and takes the term of an IRI', () => {
    expect(actionTerm('MarkedAsUnRead')).toBe('MarkedAsUnread');
    expect(actionTerm(' http://purl.imsglobal.org/vocab/caliper/v1/action#Viewed ')).toBe('Viewed');
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'gives an action named like an Object property (%s) back as text, not the property',
    (action) => {
      // An event's action is the sender's text: a rule keeping it must send text, and the
      // message that refuses it must name it.
      expect(actionTerm(action)).toBe(action);
      expect(actionTerm(`http://purl.imsglobal.org/vocab/caliper/v1/action#${action}`)).toBe(action);
    },
  );
});
