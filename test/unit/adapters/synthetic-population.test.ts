import { describe, expect, it } from 'vitest';
import { sandboxPeople, syntheticPopulation } from '../../../shared/adapters/population/synthetic-population.js';
import { isCalendarDate } from '../../../shared/domain/dates.js';
import { matchNames } from '../../../shared/domain/names.js';
import { checkPersonalId } from '../../../shared/domain/personal-id.js';
import { localPopulationRequestSchema } from '../../../shared/domain/schemas.js';
import type { Citizen } from '../../../shared/ports/population-registry.js';

/** Letters outside ASCII: the diacritics of Vietnamese (and Đ/đ). */
const NON_ASCII = /[^\x20-\x7e]/;

function expectValidCitizen(person: Citizen) {
  const check = checkPersonalId(person.personalId, { dateOfBirth: person.dateOfBirth, gender: person.gender });
  expect(check, `${person.personalId} ${person.dateOfBirth} ${person.gender}`).toMatchObject({ ok: true });
  expect(isCalendarDate(person.dateOfBirth)).toBe(true);
  if (person.dateOfDeath !== null) {
    expect(isCalendarDate(person.dateOfDeath)).toBe(true);
    expect(person.dateOfDeath >= person.dateOfBirth).toBe(true);
  }
  expect(person.fullName).toBe(person.fullName.normalize('NFC'));
  expect(person.fullName).toMatch(/^\S+( \S+){2,3}$/);
}

describe('syntheticPopulation', () => {
  it('is deterministic: the same seed gives the same people, another seed other people', () => {
    // Prepare / Act
    const first = syntheticPopulation({ size: 500, seed: 1 });
    const again = syntheticPopulation({ size: 500, seed: 1 });
    const other = syntheticPopulation({ size: 500, seed: 2 });

    // Assess
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    // A smaller size is a prefix of a larger one (the local seed can grow without reshuffling).
    expect(syntheticPopulation({ size: 100, seed: 1 })).toEqual(first.slice(0, 100));
  });

  it('gives every person a valid structured ID, consistent with their own birth date and gender, unique', () => {
    const people = syntheticPopulation({ size: 5_000, seed: 7 });

    expect(people).toHaveLength(5_000);
    for (const person of people) expectValidCitizen(person);
    expect(new Set(people.map((person) => person.personalId)).size).toBe(people.length);
    // Tails come from the range reserved for synthetic people.
    for (const person of people) expect(Number(person.personalId.slice(6))).toBeGreaterThanOrEqual(900_000);
  });

  it('spans births from the 1930s to the 2010s, both centuries of the gender digit, both genders', () => {
    const people = syntheticPopulation({ size: 5_000, seed: 3 });
    const decades = new Set(people.map((person) => Math.floor(Number(person.dateOfBirth.slice(0, 4)) / 10) * 10));

    expect([...decades].sort()).toEqual([1930, 1940, 1950, 1960, 1970, 1980, 1990, 2000, 2010]);
    expect(new Set(people.map((person) => person.personalId[3]))).toEqual(new Set(['0', '1', '2', '3']));
    const women = people.filter((person) => person.gender === 'F').length / people.length;
    expect(women).toBeGreaterThan(0.45);
    expect(women).toBeLessThan(0.6);
  });

  it.each([1, 2, 42])('records roughly 3%% as deceased, with deaths in 2020-2026 (seed %i)', (seed) => {
    const people = syntheticPopulation({ size: 5_000, seed });
    const dead = people.filter((person) => person.dateOfDeath !== null);

    expect(dead.length / people.length).toBeGreaterThan(0.02);
    expect(dead.length / people.length).toBeLessThan(0.04);
    for (const person of dead) {
      expect(person.dateOfDeath! >= '2020-01-01').toBe(true);
      expect(person.dateOfDeath! <= '2026-12-31').toBe(true);
    }
  });

  it('writes names with Vietnamese diacritics, including Đ, ư, ơ and stacked marks', () => {
    const people = syntheticPopulation({ size: 2_000, seed: 1 });
    const names = people.map((person) => person.fullName);
    const all = names.join(' ');

    expect(names.filter((name) => NON_ASCII.test(name)).length / names.length).toBeGreaterThan(0.95);
    for (const letter of ['Đ', 'ư', 'ơ', 'ễ', 'ồ', 'ị', 'ạ', 'ă']) expect(all).toContain(letter);
    for (const family of ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Hoàng', 'Huỳnh', 'Phan', 'Vũ', 'Võ', 'Đặng', 'Bùi', 'Đỗ', 'Hồ', 'Ngô', 'Dương', 'Lý']) {
      expect(names.some((name) => name.startsWith(`${family} `))).toBe(true);
    }
  });

  it('is accepted whole by POST /local/population\'s schema', () => {
    const citizens = syntheticPopulation({ size: 2_000, seed: 1 }).map(({ dateOfDeath, ...person }) => (dateOfDeath ? { ...person, dateOfDeath } : person));

    expect(localPopulationRequestSchema.safeParse({ citizens }).success).toBe(true);
  });

  it('refuses sizes it cannot produce', () => {
    expect(() => syntheticPopulation({ size: -1, seed: 1 })).toThrow(RangeError);
    expect(() => syntheticPopulation({ size: 1.5, seed: 1 })).toThrow(RangeError);
    expect(syntheticPopulation({ size: 0, seed: 1 })).toEqual([]);
  });
});

describe('sandboxPeople', () => {
  const byId = new Map(sandboxPeople.map((person) => [person.personalId, person]));

  it('are valid, unique, and never collide with synthetic people', () => {
    for (const person of sandboxPeople) expectValidCitizen(person);
    expect(byId.size).toBe(sandboxPeople.length);
    const synthetic = new Set(syntheticPopulation({ size: 2_000, seed: 1 }).map((person) => person.personalId));
    for (const person of sandboxPeople) expect(synthetic.has(person.personalId)).toBe(false);
  });

  it('hold the documented people', () => {
    expect(byId.get('079185000001')).toMatchObject({ fullName: 'Nguyễn Thị Ánh', dateOfBirth: '1985-03-02', gender: 'F', dateOfDeath: null });
    expect(byId.get('001048000002')).toMatchObject({ fullName: 'Trần Văn Bình', gender: 'M', dateOfDeath: '2025-06-01' });
    expect(byId.get('048060000003')).toMatchObject({ fullName: 'Đặng Văn Đức', gender: 'M', dateOfDeath: null });
    expect(byId.get('079041000007')).toMatchObject({ dateOfDeath: '2026-03-15' });
    // Both centuries of the gender digit and both genders in each.
    expect(new Set(sandboxPeople.map((person) => person.personalId[3]))).toEqual(new Set(['0', '1', '2', '3']));
  });

  it('demonstrate the name rule as their notes say', () => {
    expect(matchNames('NGUYEN THI ANH', byId.get('079185000001')!.fullName)).toBe('ASCII_FOLDED');
    expect(matchNames('Nguyễn Thị Ánh', byId.get('079185000001')!.fullName)).toBe('EXACT');
    expect(matchNames('DANG VAN DUC', byId.get('048060000003')!.fullName)).toBe('ASCII_FOLDED');
    expect(matchNames('DUONG THI MY UYEN', byId.get('031195000008')!.fullName)).toBe('ASCII_FOLDED');
    expect(matchNames('Dương Thị Uyên', byId.get('031195000008')!.fullName)).toBe('MISMATCH');
  });

  it('are frozen', () => {
    expect(Object.isFrozen(sandboxPeople)).toBe(true);
    expect(Object.isFrozen(sandboxPeople[0])).toBe(true);
  });
});
