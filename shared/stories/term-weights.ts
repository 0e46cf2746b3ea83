/**
 * How much a shared term says that two reports tell one event: its inverse
 * document frequency, learnt from the reports the classifier has seen and
 * bootstrapped from a background table of general English (WordNet's
 * glosses, see `lexicon.ts`). Before the stream has said anything the
 * background decides alone; as reports arrive, what is common in the news
 * ("North Korea", "Kim Jong Un", "missile") loses weight that a dictionary
 * would have given it, and what stays rare ("Matviyenko", "Glushkovo") keeps it.
 */
import { backgroundProbability } from './lexicon.ts';

/** Reports the stream must have seen to weigh as much as the background. */
const PRIOR_REPORTS = 50;
/**
 * Reports after which every count is halved (terms counted once dropped):
 * recent news weighs most, and a long-lived process keeps a bounded table.
 */
const HALVING_REPORTS = 20_000;

/** Document frequencies of terms over reports seen, blended with the background. */
export class TermWeights {
  private readonly frequencies = new Map<string, number>();
  private reports = 0;

  /** Counts one report's distinct terms. */
  observe(terms: Iterable<string>): void {
    this.reports++;
    for (const term of new Set(terms)) {
      this.frequencies.set(term, (this.frequencies.get(term) ?? 0) + 1);
    }
    if (this.reports >= HALVING_REPORTS) this.halve();
  }

  /** Halves every count and the number of reports, forgetting terms counted once. */
  private halve(): void {
    this.reports /= 2;
    for (const [term, count] of this.frequencies) {
      if (count < 2) this.frequencies.delete(term);
      else this.frequencies.set(term, count / 2);
    }
  }

  /**
   * `-ln p`, where `p` is the share of reports with the term: the stream's
   * share and the background's, weighed by how many reports the stream has
   * seen against `PRIOR_REPORTS`.
   */
  weight(term: string): number {
    const stream = this.reports === 0 ? 0 : (this.frequencies.get(term) ?? 0) / this.reports;
    const prior = PRIOR_REPORTS / (PRIOR_REPORTS + this.reports);
    return -Math.log(prior * backgroundProbability(term) + (1 - prior) * stream);
  }

  /** Reports counted (halved with the counts, see `HALVING_REPORTS`). */
  get seen(): number {
    return this.reports;
  }

  /** Distinct terms counted. */
  get terms(): number {
    return this.frequencies.size;
  }
}

/** Weights from the background alone: what a report is compared with before any stream. */
export const BACKGROUND_WEIGHTS = new TermWeights();
