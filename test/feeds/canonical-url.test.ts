import { describe, expect, it } from 'vitest';
import { canonicaliseUrl } from '../../shared/feeds/canonical-url.ts';

describe('canonicaliseUrl', () => {
  it('removes utm_* and the click and mailing-list trackers, keeping the other parameters in order', () => {
    const link =
      'https://wire.example/story?id=42&utm_source=rss&UTM_Medium=feed&fbclid=abc&gclid=x&mc_cid=1&mc_eid=2&igshid=q&ref_src=twsrc%5Etfw&page=2';

    expect(canonicaliseUrl(link)).toBe('https://wire.example/story?id=42&page=2');
  });

  it('drops the query mark when only tracking parameters were there', () => {
    expect(canonicaliseUrl('https://wire.example/story?utm_source=rss&utm_medium=feed')).toBe(
      'https://wire.example/story',
    );
    expect(canonicaliseUrl('https://wire.example/story?')).toBe('https://wire.example/story');
  });

  it('keeps the encoding of the parameters it keeps', () => {
    expect(canonicaliseUrl('https://wire.example/search?q=north%20korea&flag&utm_term=x')).toBe(
      'https://wire.example/search?q=north%20korea&flag',
    );
  });

  it('lower-cases scheme and host, drops the default port, the fragment and credentials', () => {
    expect(canonicaliseUrl('HTTPS://user:pw@Wire.EXAMPLE.:443/World/Story#comments')).toBe(
      'https://wire.example/World/Story',
    );
    expect(canonicaliseUrl('http://wire.example:80/a')).toBe('http://wire.example/a');
    expect(canonicaliseUrl('http://wire.example:8080/a')).toBe('http://wire.example:8080/a');
  });

  it('resolves a relative link against the base', () => {
    expect(
      canonicaliseUrl('../2026/03/story?utm_source=x', 'https://desk.example/feeds/rss.xml'),
    ).toBe('https://desk.example/2026/03/story');
    expect(canonicaliseUrl('//cdn.example/a', 'https://desk.example/feed')).toBe(
      'https://cdn.example/a',
    );
  });

  it('rejects links that are not http(s) or not URLs at all', () => {
    expect(canonicaliseUrl('javascript:alert(1)', 'https://desk.example/')).toBeUndefined();
    expect(canonicaliseUrl('mailto:desk@desk.example')).toBeUndefined();
    expect(canonicaliseUrl('not a url')).toBeUndefined();
    expect(canonicaliseUrl('')).toBeUndefined();
  });
});
