import { InvalidPrefixError } from './event-store.errors';
import { streamIdRange } from './stream-prefix';

describe('streamIdRange', () => {
  it('ends the range at the prefix with its last code point incremented', () => {
    expect(streamIdRange('run-A-X')).toEqual({ lo: 'run-A-X', hi: 'run-A-Y' });
    expect(streamIdRange('a%')).toEqual({ lo: 'a%', hi: 'a&' });
    expect(streamIdRange('a\u0000')).toEqual({ lo: 'a\u0000', hi: 'a\u0001' });
  });

  it('increments code points, not UTF-16 code units', () => {
    expect(streamIdRange('a\uFFFF').hi).toBe('a\u{10000}');
    expect(streamIdRange('a\u{1F7FF}').hi).toBe('a\u{1F800}');
    expect(streamIdRange('a\u{1F600}').hi).toBe('a\u{1F601}');
    // the surrogates are not code points of a string: U+D7FF is followed by U+E000
    expect(streamIdRange('a\uD7FF').hi).toBe('a\uE000');
  });

  it('drops trailing U+10FFFF, and has no upper bound when nothing is left', () => {
    expect(streamIdRange('ab\u{10FFFF}\u{10FFFF}')).toEqual({
      lo: 'ab\u{10FFFF}\u{10FFFF}',
      hi: 'ac',
    });
    expect(streamIdRange('\u{10FFFF}\u{10FFFF}')).toEqual({ lo: '\u{10FFFF}\u{10FFFF}' });
  });

  it('rejects an empty prefix, a non-string and a lone surrogate, naming the problem', () => {
    expect(() => streamIdRange('')).toThrow(InvalidPrefixError);
    expect(() => streamIdRange('')).toThrow(
      'invalid stream prefix "": expected a non-empty string (to read every stream, use readAll)',
    );
    expect(() => streamIdRange(undefined as unknown as string)).toThrow(
      'invalid stream prefix undefined: expected a non-empty string',
    );
    expect(() => streamIdRange('a\uD83D')).toThrow(
      'invalid stream prefix "a\\ud83d": it contains a lone UTF-16 surrogate',
    );
    expect(() => streamIdRange('\uDE00b')).toThrow('lone UTF-16 surrogate');
  });
});
