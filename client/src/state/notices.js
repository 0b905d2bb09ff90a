// The short messages shown at the top of the page (components/Notice.jsx).

export const NOTICES = {
  'partner-left': 'Stranger left. Finding someone new…',
  reported: 'Thanks. Your report was sent to the moderators.',
  blocked: 'Blocked. You will not be matched with them again.',
  'report-failed': 'Your report could not be sent. Please try again.',
};

/** The text of a notice; some carry their own message. */
export function noticeText(notice) {
  if (notice.kind === 'refused') return `Could not join: ${notice.message}.`;
  if (notice.kind === 'device-failed') return notice.message;
  return NOTICES[notice.kind] ?? '';
}
