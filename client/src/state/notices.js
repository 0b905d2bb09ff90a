// The short messages shown at the top of the page (components/Notice.jsx),
// as keys of the translations (i18n/).

const NOTICES = {
  'partner-left': 'notice.partnerLeft',
  reported: 'notice.reported',
  blocked: 'notice.blocked',
  'report-failed': 'notice.reportFailed',
  'resume-lost': 'notice.resumeLost',
};

// Why the server refused a join, by the ack's stable code (README, "The
// contract"): the server's English text is for the original client, and
// may change; these are ours. cooling-down's text carries the seconds left,
// which we do not parse: "later" is true whatever the server's wording.
export const REFUSAL_CODES = ['cooling-down', 'banned', 'rate-limited', 'too-many-pending', 'draining', 'unavailable', 'invalid'];

/** The text of a notice in the language of t; some carry their own message key. */
export function noticeText(notice, t) {
  if (notice.kind === 'refused') {
    const code = REFUSAL_CODES.includes(notice.code) ? notice.code : 'other';
    return t('notice.refused', { reason: t(`notice.refusal.${code}`) });
  }
  if (notice.kind === 'device-failed') return t(notice.message);
  return NOTICES[notice.kind] ? t(NOTICES[notice.kind]) : '';
}
