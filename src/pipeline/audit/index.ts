export { AuditFilter, type AuditFilterOptions } from './audit-filter.js';
export { AuditWriter, type AuditWriterOptions, type AuditLogger, type AuditRecordSink, type PreparableEntry } from './audit-writer.js';
export { Redactor, REDACTED, EMAIL_PATTERN, type RedactionOptions } from './redaction.js';
