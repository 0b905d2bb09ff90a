// The short messages shown at the top of the page (components/Notice.jsx).

export const NOTICES = {
  'partner-left': 'Stranger left. Finding someone new…',
  reported: 'Thanks. Your report was sent to the moderators.',
  blocked: 'Blocked. You will not be matched with them again.',
  'report-failed': 'Your report could not be sent. Please try again.',
};

// Why the server refused a join, by the ack's stable code (README, "The
// contract"): the server's English text is for the original client, and
// may change; these are ours. cooling-down's text carries the seconds left,
// which we do not parse: "later" is true whatever the server's wording.
export const REFUSALS = {
  'cooling-down': 'after reports from other users you cannot join for a while. Try again later.',
  banned: 'the moderators have banned your connection after reports.',
  'rate-limited': 'too many tries at once. Wait a moment and try again.',
  'too-many-pending': 'too many tries at once. Wait a moment and try again.',
  draining: 'the server is restarting. Try again in a moment.',
  unavailable: 'the server is busy right now. Try again in a moment.',
  invalid: 'the server did not accept your profile. Check it and try again.',
};
const REFUSED_OTHERWISE = 'the server could not queue you. Try again in a moment.';

/** The text of a notice; some carry their own message. */
export function noticeText(notice) {
  if (notice.kind === 'refused') return `Could not join: ${REFUSALS[notice.code] ?? REFUSED_OTHERWISE}`;
  if (notice.kind === 'device-failed') return notice.message;
  return NOTICES[notice.kind] ?? '';
}
