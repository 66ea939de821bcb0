-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "changeSeq" BIGSERIAL NOT NULL;

-- AlterTable
ALTER TABLE "Worker" ADD COLUMN     "changeSeq" BIGSERIAL NOT NULL;

-- CreateIndex
CREATE INDEX "Run_gridId_status_changeSeq_idx" ON "Run"("gridId", "status", "changeSeq");

-- CreateIndex
CREATE INDEX "Run_changeSeq_idx" ON "Run"("changeSeq");

-- Live changes (hand-written: Prisma's schema has no triggers). Every change of a run, of its
-- evaluations or of a worker takes the next number of its table's sequence (the PGlite feed and the
-- results cache read these), and each statement that changed runs, grids or workers notifies channel
-- "lml_change" at commit (PostgreSQL's LISTEN path; one notification per statement, not per row).

CREATE FUNCTION lml_run_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."changeSeq" := nextval('"Run_changeSeq_seq"');
  RETURN NEW;
END $$;

CREATE TRIGGER "Run_touch" BEFORE UPDATE ON "Run" FOR EACH ROW EXECUTE FUNCTION lml_run_touch();

CREATE FUNCTION lml_worker_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."changeSeq" := nextval('"Worker_changeSeq_seq"');
  RETURN NEW;
END $$;

CREATE TRIGGER "Worker_touch" BEFORE UPDATE ON "Worker" FOR EACH ROW EXECUTE FUNCTION lml_worker_touch();

-- A run's results are its evaluations: writing them touches the run (its BEFORE trigger numbers it).
CREATE FUNCTION lml_evaluation_touch_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "Run" SET "changeSeq" = 0 WHERE "id" IN (SELECT DISTINCT "runId" FROM changed);
  RETURN NULL;
END $$;

CREATE TRIGGER "Evaluation_insert_touch" AFTER INSERT ON "Evaluation" REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION lml_evaluation_touch_run();
CREATE TRIGGER "Evaluation_update_touch" AFTER UPDATE ON "Evaluation" REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION lml_evaluation_touch_run();
CREATE TRIGGER "Evaluation_delete_touch" AFTER DELETE ON "Evaluation" REFERENCING OLD TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION lml_evaluation_touch_run();

-- Payload {"table":"Run","runs":[ids]|null,"grids":[ids]|null,"seq":n}; null means "more than 40"
-- (NOTIFY payloads stay far below their 8000-byte limit).
CREATE FUNCTION lml_notify_runs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
  payload json;
BEGIN
  SELECT count(*) INTO n FROM changed;
  IF n = 0 THEN
    RETURN NULL;
  END IF;
  SELECT json_build_object(
    'table', 'Run',
    'runs', CASE WHEN n <= 40 THEN (SELECT json_agg("id") FROM changed) END,
    'grids', (SELECT CASE WHEN count(*) <= 40 THEN json_agg(g) END
              FROM (SELECT DISTINCT "gridId" AS g FROM changed WHERE "gridId" IS NOT NULL) AS grids),
    'seq', (SELECT max("changeSeq") FROM changed))
  INTO payload;
  PERFORM pg_notify('lml_change', payload::text);
  RETURN NULL;
END $$;

CREATE TRIGGER "Run_insert_notify" AFTER INSERT ON "Run" REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION lml_notify_runs();
CREATE TRIGGER "Run_update_notify" AFTER UPDATE ON "Run" REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION lml_notify_runs();
CREATE TRIGGER "Run_delete_notify" AFTER DELETE ON "Run" REFERENCING OLD TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION lml_notify_runs();

CREATE FUNCTION lml_notify_table() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('lml_change', json_build_object('table', TG_TABLE_NAME)::text);
  RETURN NULL;
END $$;

CREATE TRIGGER "Grid_notify" AFTER INSERT OR UPDATE OR DELETE ON "Grid" FOR EACH STATEMENT EXECUTE FUNCTION lml_notify_table();
CREATE TRIGGER "Worker_notify" AFTER INSERT OR UPDATE OR DELETE ON "Worker" FOR EACH STATEMENT EXECUTE FUNCTION lml_notify_table();
