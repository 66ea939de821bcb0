-- Live training curves (hand-written): appending metric points touches their run, as writing
-- evaluations does (lml_evaluation_touch_run reads only "runId" of the changed rows), so the change feed
-- and LISTEN/NOTIFY tell open run pages that a curve grew; the run page stops polling its curves.
CREATE TRIGGER "MetricPoint_insert_touch" AFTER INSERT ON "MetricPoint" REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION lml_evaluation_touch_run();
CREATE TRIGGER "MetricPoint_update_touch" AFTER UPDATE ON "MetricPoint" REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION lml_evaluation_touch_run();
