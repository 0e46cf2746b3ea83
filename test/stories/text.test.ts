import { describe, expect, it } from 'vitest';
import {
  lede,
  splitSentences,
  storyText,
  stripBoilerplate,
  stripTitleBoilerplate,
} from '../../shared/stories/text.ts';

describe('stripBoilerplate', () => {
  it('removes a dateline in capitals with a dash', () => {
    expect(stripBoilerplate('MADRID — Spain will send Ukraine more missiles.')).toBe(
      'Spain will send Ukraine more missiles.',
    );
  });

  it('removes a dateline with a region, a date and an agency in brackets', () => {
    expect(
      stripBoilerplate('SEOUL, March 4 (Meridian Wire) - North Korea fired a missile on Tuesday.'),
    ).toBe('North Korea fired a missile on Tuesday.');
    expect(stripBoilerplate('MIAMI GARDENS, Fla. — Drake Maye threw four touchdown passes.')).toBe(
      'Drake Maye threw four touchdown passes.',
    );
  });

  it('removes bylines and editing credits, in brackets or as a closing sentence', () => {
    expect(
      stripBoilerplate(
        'The central bank cut rates. (Reporting by Jane Roe in Moscow; Editing by John Doe)',
      ),
    ).toBe('The central bank cut rates.');
    expect(
      stripBoilerplate('The central bank cut rates. Reporting by Jane Roe; Editing by John Doe'),
    ).toBe('The central bank cut rates.');
  });

  it('removes closing agency tags and calls to action', () => {
    expect(stripBoilerplate('Typhoon closes schools in Taipei. (Wire A)')).toBe(
      'Typhoon closes schools in Taipei.',
    );
    expect(stripBoilerplate('The size of the team was not disclosed. — Wire A')).toBe(
      'The size of the team was not disclosed.',
    );
    expect(stripBoilerplate('Satellite images show rail cars. Read more at example.com')).toBe(
      'Satellite images show rail cars.',
    );
    expect(stripBoilerplate('Three firms shipped chips. Source: Europe Desk')).toBe(
      'Three firms shipped chips.',
    );
  });

  it('removes a dateline in ordinary case when it carries an agency', () => {
    expect(stripBoilerplate('Seoul, March 4 (Yonhap) -- North Korea fired a missile.')).toBe(
      'North Korea fired a missile.',
    );
    expect(stripBoilerplate('WASHINGTON (Reuters) - The Senate passed the bill.')).toBe(
      'The Senate passed the bill.',
    );
  });

  it('keeps a summary that opens with an acronym and a number', () => {
    expect(stripBoilerplate('PAC-3 MSE interceptors arrived in Taiwan on Tuesday.')).toBe(
      'PAC-3 MSE interceptors arrived in Taiwan on Tuesday.',
    );
  });
});

describe('stripTitleBoilerplate', () => {
  it('removes wire markers before a headline and the outlet after it', () => {
    expect(stripTitleBoilerplate('UPDATE 2-Spain to send Ukraine more Patriots - Reuters')).toBe(
      'Spain to send Ukraine more Patriots',
    );
    expect(stripTitleBoilerplate('BREAKING: Typhoon closes schools in Taipei | Wire A')).toBe(
      'Typhoon closes schools in Taipei',
    );
  });

  it('keeps a hyphenated headline whole', () => {
    expect(stripTitleBoilerplate('Mexico beat South Africa 2-0 in World Cup opener')).toBe(
      'Mexico beat South Africa 2-0 in World Cup opener',
    );
  });
});

describe('lede', () => {
  it('keeps whole first sentences and drops the rest of a long summary', () => {
    const first = `${'word '.repeat(50).trim()}.`;
    expect(lede(`${first} Second sentence. Third sentence.`)).toBe(first);
  });

  it('does not end a sentence at an initial such as "N. Korea"', () => {
    expect(splitSentences('Talks with N. Korea stalled. Seoul said so.')).toEqual([
      'Talks with N. Korea stalled.',
      'Seoul said so.',
    ]);
  });

  it('gives the title and an empty lede for an item without a summary', () => {
    expect(storyText({ title: 'DPRK engineers to rebuild Kursk bridges', summary: '' })).toEqual({
      title: 'DPRK engineers to rebuild Kursk bridges',
      lede: '',
    });
  });
});
