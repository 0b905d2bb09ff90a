// Report and block: the reasons a user can give, as the server knows them.

export const REPORT_REASONS = [
  { value: 'nudity', label: 'Nudity or sexual content' },
  { value: 'harassment', label: 'Harassment or hate' },
  { value: 'spam', label: 'Spam or scam' },
  { value: 'underage', label: 'Appears under 18' },
  { value: 'other', label: 'Something else' },
];
