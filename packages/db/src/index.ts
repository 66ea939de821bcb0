// @lml/db: the Prisma client for the embedded PGlite server or PostgreSQL, migrations, the embedded
// server, health, and the one data layer: the run queue (./queue, by stage) and the repositories.
// Test helpers are in "@lml/db/testing", migration authoring in "@lml/db/migrations" (dev-only
// dependencies).
export { clientConnectionString, connectDatabase, createPrismaClient, probeDatabase, PrismaClient } from "./client";
export type { ClientOptions, Database, DbKind, ProbeResult } from "./client";
export { Prisma, RunStatus } from "./generated/prisma/client";
export type { Artifact, Evaluation, Grid, MetricPoint, Run, Worker } from "./generated/prisma/client";
export { DEFAULT_EMBEDDED_PORT, DatabaseUrlError, embeddedPort, embeddedUrl, redactUrl, resolveDatabaseUrl } from "./url";
export { defaultDataDir, startEmbeddedServer } from "./embedded";
export type { EmbeddedServer, EmbeddedServerOptions } from "./embedded";
export { checksum, migrate, migrationState, migrationsDir, readMigrationFiles } from "./migrate";
export type { MigrateResult, MigrationFileInfo, MigrationState } from "./migrate";
export { migrateDefaultDatabase } from "./migrate-default";
export * from "./queue";
export { getHealth } from "./health";
export { CHANGE_CHANNEL, changeFromNotification, mergeChanges, openChangeFeed } from "./changes";
export type { ChangeEvent, ChangeFeed, ChangeFeedMode, ChangeFeedOptions } from "./changes";
export type { Health } from "./health";
export { ConstraintError } from "./errors";
export * from "./repositories";
