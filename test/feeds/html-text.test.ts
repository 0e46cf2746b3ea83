import { describe, expect, it } from 'vitest';
import { htmlToText } from '../../shared/feeds/html-text.ts';

describe('htmlToText', () => {
  it('strips tags and decodes named, decimal and hex entities', () => {
    expect(htmlToText('<p>AT&amp;T &ldquo;wins&rdquo; &#8212; <b>big</b>&#x21;</p>')).toBe(
      'AT&T “wins” — big!',
    );
  });

  it('drops script, style and noscript content', () => {
    const html =
      '<p>Seoul</p><script>document.write("<p>injected</p>")</script><style>p{color:red}</style><noscript>enable js</noscript><p>says</p>';

    expect(htmlToText(html)).toBe('Seoul says');
  });

  it('turns block elements and line breaks into spaces so words never fuse', () => {
    expect(htmlToText('<p>first</p><p>second</p>third<br>fourth<br/>fifth<li>sixth</li>')).toBe(
      'first second third fourth fifth sixth',
    );
  });

  it('keeps inline elements inside words', () => {
    expect(htmlToText('North<em>-</em>Korean <a href="/x">troops</a>')).toBe('North-Korean troops');
  });

  it('collapses whitespace, including no-break spaces and control characters', () => {
    expect(htmlToText('  a\n\t b&nbsp;&nbsp;c\u0000d\u200Be  ')).toBe('a b c d e');
  });

  it('leaves plain text with stray angle brackets readable', () => {
    expect(htmlToText('profits < 5% & falling')).toBe('profits < 5% & falling');
  });

  it('returns an empty string for markup with no text', () => {
    expect(htmlToText('<img src="https://px.example/t.gif"><script>x()</script>')).toBe('');
  });
});
