// Report and block: the reasons a user can give, as the server knows them
// (their words: safety.<reason> in i18n/).

export const REPORT_REASONS = ['nudity', 'harassment', 'spam', 'underage', 'other'];
