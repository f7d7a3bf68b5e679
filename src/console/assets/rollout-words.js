// Who a candidate's rollout reaches, and who a change of it starts or stops serving, in words.
// Plain functions of rollouts, apart from the page, so that every combination is tested without a
// browser (test/console/rollout-words.test.ts). As the server decides it
// (src/flags/candidate-rollout.ts): the allow-list always gets the candidate; the percentage
// picks users by a stable hash of the user id — raising it keeps those already in — among those
// who meet its constraints (segments, platforms, oldest app version).

/** The constraints of the percentage, each as a set of users: `within(other)` says whether every user it admits, `other` admits too. */
const DIMENSIONS = [
  {
    field: 'segments',
    among: (r) => list(r.segments, 'in segment'),
    // By any of their segments, as the server matches them: a user with none is outside too.
    outside: (r) => (r.segments.length === 1 ? `not in segment ${r.segments[0]}` : `in none of segments ${r.segments.join(', ')}`),
    within: (r, other) => other.segments.length === 0 || (r.segments.length > 0 && r.segments.every((s) => other.segments.includes(s))),
  },
  {
    field: 'platforms',
    among: (r) => list(r.platforms, 'on platform'),
    outside: (r) => `on a platform outside ${r.platforms.join(', ')}`,
    within: (r, other) => other.platforms.length === 0 || (r.platforms.length > 0 && r.platforms.every((p) => other.platforms.includes(p))),
  },
  {
    field: 'minAppVersion',
    among: (r) => (r.minAppVersion === null ? null : `with app ≥ ${r.minAppVersion}`),
    // A client that does not say its version is outside any oldest version: say so only to whom it may apply.
    outside: (r, other) => `on an app older than ${r.minAppVersion}${other.minAppVersion === null ? ' or one that does not say its version' : ''}`,
    within: (r, other) => other.minAppVersion === null || (r.minAppVersion !== null && compareVersions(r.minAppVersion, other.minAppVersion) >= 0),
  },
];

const list = (values, noun) => (values.length === 0 ? null : `${noun}${values.length > 1 ? 's' : ''} ${values.join(', ')}`);

/** The rollout with every constraint present (an empty list, null: any). */
const complete = (r) => ({ allowList: r.allowList ?? [], percentage: r.percentage ?? 0, segments: r.segments ?? [], platforms: r.platforms ?? [], minAppVersion: r.minAppVersion ?? null });

/** Semantic versions as minAppVersion holds them (12.3.0, 12.3.0-beta.1): below 0 when `a` is the older. */
function compareVersions(a, b) {
  const split = (v) => {
    const dash = v.indexOf('-');
    return { core: (dash === -1 ? v : v.slice(0, dash)).split('.').map(Number), pre: dash === -1 ? null : v.slice(dash + 1) };
  };
  const [x, y] = [split(a), split(b)];
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return x.core[i] - y.core[i];
  // A pre-release comes before its release.
  if (x.pre === y.pre) return 0;
  if (x.pre === null) return 1;
  if (y.pre === null) return -1;
  return comparePreReleases(x.pre.split('.'), y.pre.split('.'));
}

/**
 * Pre-release identifiers in semver's order, as the server's SEMVER_GTE constraint reads them:
 * numeric ones by number (beta.2 before beta.10) and before alphanumeric ones, others as ASCII,
 * and a shorter set before a longer one it begins (rc before rc.1).
 */
function comparePreReleases(x, y) {
  const numeric = /^\d+$/;
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    const [xNumeric, yNumeric] = [numeric.test(x[i]), numeric.test(y[i])];
    if (xNumeric && yNumeric) return Number(x[i]) - Number(y[i]);
    if (xNumeric !== yNumeric) return xNumeric ? -1 : 1;
    return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}

/** The users the percentage counts among: "other users in segment plus with app ≥ 12.0.0" ("other": not allow-listed). */
function among(r) {
  const only = DIMENSIONS.map((d) => d.among(r)).filter(Boolean);
  return [`${r.allowList.length > 0 ? 'other ' : ''}users`, ...only].join(' ');
}

/** Who a rollout selects, in words: "the allow-listed user u1001 and 10 % of other users (…)". */
export function whom(rollout) {
  const r = complete(rollout);
  const only = [
    r.segments.length ? `segments ${r.segments.join(', ')}` : null,
    r.platforms.length ? `platforms ${r.platforms.join(', ')}` : null,
    r.minAppVersion ? `app ≥ ${r.minAppVersion}` : null,
  ].filter(Boolean);
  const parts = [];
  if (r.allowList.length) parts.push(`the allow-listed user${r.allowList.length > 1 ? 's' : ''} ${r.allowList.join(', ')}`);
  if (r.percentage > 0) parts.push(`${r.percentage} % of ${r.allowList.length ? 'other ' : ''}users by a stable hash of the user id${only.length ? ` (only ${only.join(', ')})` : ''}`);
  return parts.length > 0 ? parts.join(' and ') : 'nobody yet (an empty allow-list and 0 %)';
}

/**
 * Who starts and who stops getting the candidate when its rollout goes from `before` to `after`,
 * one sentence each; empty when nobody's layout changes. The percentage's users before and after
 * are the first p % by the hash among those who meet the constraints, so a change is said as: the
 * users the new percentage adds (among whom it counts now) or takes away (among whom it counted),
 * then, within the share both percentages hold, those the new constraints let in or leave out. At
 * 0 % the constraints select nobody, so changing them alone changes nothing.
 */
export function rolloutChanges(before, after) {
  const now = complete(before);
  const next = complete(after);
  const sentences = [];
  const added = next.allowList.filter((u) => !now.allowList.includes(u));
  const removed = now.allowList.filter((u) => !next.allowList.includes(u));
  if (added.length) sentences.push(`${added.join(', ')} start${added.length === 1 ? 's' : ''} getting the candidate.`);
  if (removed.length) sentences.push(`${removed.join(', ')} go${removed.length === 1 ? 'es' : ''} back to the live layout${next.percentage > 0 ? ', unless the percentage selects them' : ''}.`);

  const shared = Math.min(now.percentage, next.percentage);
  const letIn = shared === 0 ? [] : DIMENSIONS.filter((d) => !d.within(next, now));
  const leftOut = shared === 0 ? [] : DIMENSIONS.filter((d) => !d.within(now, next));
  if (next.percentage > now.percentage) {
    sentences.push(
      now.percentage === 0
        ? `${next.percentage} % of ${among(next)} start getting it.`
        : `Another ${next.percentage - now.percentage} % of ${among(next)} start getting it${leftOut.length === 0 ? ' (those already in keep it)' : ''}.`,
    );
  }
  if (next.percentage < now.percentage) {
    sentences.push(
      next.percentage === 0
        ? `The ${now.percentage} % of ${among(now)} who get it go back to the live layout.`
        : `${now.percentage - next.percentage} % of ${among(now)} go back to the live layout (those past the first ${next.percentage} %).`,
    );
  }
  // At 100 % both percentages hold everyone: "within the first 100 %" would only get in the way.
  const within = (text) => (shared === 100 ? `${text[0].toUpperCase()}${text.slice(1)}` : `Within the first ${shared} %, ${text}`);
  if (letIn.length > 0) sentences.push(within(`${among(next)} who are ${letIn.map((d) => d.outside(now, next)).join(' or ')} start getting it.`));
  if (leftOut.length > 0) sentences.push(within(`${among(now)} who are ${leftOut.map((d) => d.outside(next, now)).join(' or ')} go back to the live layout.`));
  return sentences;
}
