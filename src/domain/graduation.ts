// Graduation: a repo's `on-green-with-review` takes effect only after enough factory PRs were
// merged by a human and needed no follow-up fix. Counted from the forge's own record of pull
// requests (durable, the same after any restart, and checkable by anyone on GitHub), so the
// factory keeps no counter of its own that could drift from what happened.

/** A pull request as graduation reads it, newest first in a history. */
export interface PullHistoryEntry {
  number: number;
  title: string;
  body: string;
  headRef: string;
  merged: boolean;
  /** Who pressed merge; null when not merged or unknown. */
  mergedBy: string | null;
  createdAt: string;
  url: string;
}

export interface GraduationEvidence {
  repo: string;
  /** Factory PRs merged clean by a human (counted), newest first. */
  counted: Array<{ number: number; mergedBy: string; url: string }>;
  /** Merged factory PRs that do not count, and why. */
  excluded: Array<{ number: number; why: string; url: string }>;
  merged: number;
  needed: number;
  graduated: boolean;
}

const FIX_WORDS = /\b(revert(s|ed)?|fix(es|ed)?|follow[- ]?up|hotfix|regression|broke|breaks)\b/i;

/** A later PR that reverts or fixes PR `number`: GitHub's revert title (`Revert "<title>"`), or
 * a title or body that names `#<number>` beside a fix word. */
export function followUpFix(pr: PullHistoryEntry, history: readonly PullHistoryEntry[]): PullHistoryEntry | null {
  const ref = new RegExp(`(^|[^\\w/])#${pr.number}\\b`);
  return (
    history.find((other) => {
      if (other.number <= pr.number) return false;
      if (other.title.startsWith(`Revert "${pr.title}`)) return true;
      const text = `${other.title}\n${other.body}`;
      return ref.test(text) && FIX_WORDS.test(text);
    }) ?? null
  );
}

/**
 * How far `repo` is on its way to autonomous merge. `history` is the repo's recent pull
 * requests (any branch: a follow-up fix is usually a human's); factory PRs are those whose head
 * starts with `factoryPrefix`. A factory PR counts when a human (not `factoryLogin`) merged it
 * and no later PR reverts or fixes it.
 */
export function graduationEvidence(input: { repo: string; history: readonly PullHistoryEntry[]; factoryPrefix: string; factoryLogin: string; needed: number }): GraduationEvidence {
  const counted: GraduationEvidence['counted'] = [];
  const excluded: GraduationEvidence['excluded'] = [];
  const factoryPrs = input.history.filter((p) => p.merged && p.headRef.startsWith(input.factoryPrefix)).sort((a, b) => b.number - a.number);
  for (const pr of factoryPrs) {
    if (!pr.mergedBy) {
      excluded.push({ number: pr.number, why: 'the forge does not say who merged it', url: pr.url });
      continue;
    }
    if (pr.mergedBy.toLowerCase() === input.factoryLogin.toLowerCase()) {
      excluded.push({ number: pr.number, why: `merged by the factory (${pr.mergedBy}), not a human`, url: pr.url });
      continue;
    }
    const fix = followUpFix(pr, input.history);
    if (fix) {
      excluded.push({ number: pr.number, why: `followed by a fix: #${fix.number} "${fix.title}"`, url: pr.url });
      continue;
    }
    counted.push({ number: pr.number, mergedBy: pr.mergedBy, url: pr.url });
  }
  return { repo: input.repo, counted, excluded, merged: counted.length, needed: input.needed, graduated: counted.length >= input.needed };
}
