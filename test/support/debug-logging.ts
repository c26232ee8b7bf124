/**
 * Imported first by a test that must see every log line: the logger reads its
 * level once, when shared/observability/logger.ts loads, and local/environment.ts
 * only sets a level that is not set yet (WARN by default).
 */
process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
process.env.LOG_LEVEL = 'DEBUG';
