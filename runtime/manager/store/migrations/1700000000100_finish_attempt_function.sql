-- Up Migration

-- Applying a worker's result is the hottest write in the system: one function,
-- one round trip, so results can also be applied many to a statement.
-- Returns {status: "stale"} when the report's epoch is not the current lease.
CREATE FUNCTION ff_finish_attempt(p_task uuid, p_epoch bigint, p_outcome text, p_result jsonb, p_error text, p_audit jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t record;
  v_failures int;
  v_state text;
  v_final boolean := false;
  v_delay double precision := 0;
  v_cancelled jsonb := '[]'::jsonb;
  v_woke int := 0;
  v_now timestamptz := now();
  v_reason text;
BEGIN
  SELECT job_id, tenant, key, attempt, failures, max_attempts, optional, started_at INTO t
    FROM tasks WHERE id = p_task AND epoch = p_epoch AND state IN ('leased', 'running') FOR UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('status', 'stale');
  END IF;

  IF p_outcome IN ('succeeded', 'skipped') THEN
    v_state := p_outcome;
    v_final := true;
    UPDATE tasks SET state = p_outcome, result = p_result, error = NULL, progress = 1, finished_at = v_now WHERE id = p_task;
  ELSE
    -- a lost attempt (host gone, worker killed by its host) is not the task's fault
    v_failures := CASE WHEN p_outcome = 'lost' THEN t.failures ELSE t.failures + 1 END;
    IF p_outcome = 'failed-permanent' OR v_failures >= t.max_attempts OR t.attempt >= t.max_attempts + 5 THEN
      v_state := 'failed';
      v_final := true;
      -- dependents are handed the reason (package and commit quote it in their list of what is missing)
      UPDATE tasks SET state = 'failed', failures = v_failures, error = COALESCE(p_error, 'failed'),
          result = COALESCE(NULLIF(p_result, 'null'::jsonb), jsonb_build_object('reason', COALESCE(p_error, 'failed'))), finished_at = v_now
        WHERE id = p_task;
    ELSE
      v_state := 'ready';
      -- retries back off exponentially: 2 s, 4 s, 8 s ... capped at 60 s
      v_delay := CASE WHEN p_outcome = 'lost' THEN 0 ELSE LEAST(60000, 1000 * 2 ^ v_failures) END;
      UPDATE tasks SET state = 'ready', failures = v_failures, error = COALESCE(p_error, 'failed'), coordinator_id = NULL,
          ready_at = v_now, not_before = v_now + make_interval(secs => v_delay / 1000), progress = 0
        WHERE id = p_task;
      INSERT INTO audit (tenant, job_id, task_id, attempt, kind, data)
        VALUES (t.tenant, t.job_id, p_task, t.attempt, 'task.retry',
                jsonb_build_object('reason', p_error, 'outcome', p_outcome, 'failures', v_failures, 'retryInMs', v_delay));
    END IF;
  END IF;

  UPDATE attempts SET state = CASE WHEN p_outcome = 'failed-permanent' THEN 'failed' ELSE p_outcome END,
      finished_at = v_now, error = p_error
    WHERE task_id = p_task AND epoch = p_epoch;
  INSERT INTO audit (tenant, job_id, task_id, attempt, kind, data)
    SELECT t.tenant, t.job_id, p_task, t.attempt, a->>'kind', COALESCE(a->'data', 'null'::jsonb)
    FROM jsonb_array_elements(COALESCE(p_audit, '[]'::jsonb)) AS a;
  INSERT INTO audit (tenant, job_id, task_id, attempt, kind, data)
    VALUES (t.tenant, t.job_id, p_task, t.attempt, 'task.attempt',
            jsonb_build_object('key', t.key, 'outcome', p_outcome, 'error', p_error, 'startedAt', t.started_at, 'finishedAt', clock_timestamp()));

  IF v_final AND v_state = 'failed' AND NOT t.optional THEN
    -- a required task failed for good: stop the rest of the job
    v_reason := 'task ' || t.key || ' failed: ' || COALESCE(p_error, 'failed');
    WITH r AS (
      UPDATE tasks SET state = 'cancelled', finished_at = v_now, error = v_reason
      WHERE job_id = t.job_id AND state IN ('leased', 'running')
      RETURNING id, attempt, epoch, coordinator_id
    )
    SELECT COALESCE(jsonb_agg(jsonb_build_object('taskId', id, 'attempt', attempt, 'epoch', epoch, 'coordinatorId', coordinator_id)), '[]'::jsonb)
      INTO v_cancelled FROM r;
    UPDATE attempts a SET state = 'cancelled', finished_at = v_now, error = v_reason
      FROM tasks x WHERE x.job_id = t.job_id AND a.task_id = x.id AND a.state IN ('leased', 'running');
    UPDATE tasks SET state = 'cancelled', finished_at = v_now, error = v_reason WHERE job_id = t.job_id AND state IN ('blocked', 'ready');
    IF jsonb_array_length(v_cancelled) > 0 THEN
      PERFORM pg_notify('ff_cancel', v_cancelled::text);
    END IF;
  ELSIF v_final THEN
    -- dependents see a finished dependency; an optional one that failed is handed on as failed
    WITH w AS (
      UPDATE tasks SET pending_deps = pending_deps - 1,
          state = CASE WHEN pending_deps - 1 = 0 THEN 'ready' ELSE state END,
          ready_at = CASE WHEN pending_deps - 1 = 0 THEN v_now ELSE ready_at END
      WHERE id IN (SELECT to_task FROM task_edges WHERE from_task = p_task) AND state = 'blocked'
      RETURNING state
    )
    SELECT count(*) FILTER (WHERE state = 'ready') INTO v_woke FROM w;
    IF v_woke > 0 THEN
      PERFORM pg_notify('ff_ready', '');
    END IF;
  ELSE
    PERFORM pg_notify('ff_ready', '');
  END IF;

  INSERT INTO outbox (tenant, job_id, type, payload)
    VALUES (t.tenant, t.job_id, 'task.' || CASE WHEN v_state = 'ready' THEN 'retrying' ELSE v_state END,
            jsonb_build_object('task', t.key, 'attempt', t.attempt, 'error', p_error));

  RETURN jsonb_build_object(
    'status', 'ok', 'jobId', t.job_id, 'tenant', t.tenant, 'taskState', v_state, 'cancelled', v_cancelled,
    'jobSettled', NOT EXISTS (SELECT 1 FROM tasks WHERE job_id = t.job_id AND state IN ('blocked', 'ready', 'leased', 'running')));
END;
$$;

-- Down Migration
DROP FUNCTION ff_finish_attempt(uuid, bigint, text, jsonb, text, jsonb);
