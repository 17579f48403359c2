-- benchmarks/duckdb_reference.sql in the Spark SQL dialect, for the embedded engine (Sail), run
-- by benchmarks/floor.py statement by statement over the same landing files.
--
-- The same statements in the same order, changed only where Spark SQL (as Sail 0.7 parses it)
-- has no equivalent; each change is marked "shim:" where it is made. floor.py does three
-- things this file cannot:
--   * CREATE TEMP MACRO: Sail has no SQL macros; floor.py expands each call of a macro into its
--     body (arguments in parentheses) before the statement is sent (floor.expand_macros).
--   * getvariable('x'): replaced by the literal (floor.substitute_variables).
--   * CREATE TEMP TABLE x AS q: the result of q is written as Parquet into the scratch folder
--     and x becomes a view over it (Sail over Spark Connect has no in-memory table).
-- Shims common to many lines, stated once here:
--   * regexp_full_match(v, p) -> v RLIKE '^p$', \d -> [0-9] and \. -> [.] (Spark SQL string
--     literals process backslash escapes, DuckDB's do not; ASCII digits in both).
--   * TIMESTAMPTZ -> TIMESTAMP (the session time zone is UTC, as in the DuckDB run).
--   * epoch_us(t) // 1000000 -> unix_seconds(t); x::T -> CAST(x AS T); GROUP BY ALL -> the
--     columns named.

-- 1. Contract checks: the first problem of a record, in the contract's field order, or NULL.
CREATE TEMP MACRO rfc3339(v) AS
    CASE WHEN v RLIKE '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$'
         THEN TRY_CAST(upper(v) AS TIMESTAMP) END;
CREATE TEMP MACRO iso_date(v) AS
    CASE WHEN v RLIKE '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN TRY_CAST(v AS DATE) END;
CREATE TEMP MACRO int_problem(v, name) AS
    CASE WHEN v IS NOT NULL AND (TRY_CAST(v AS DOUBLE) IS NULL
                                 OR TRY_CAST(v AS DOUBLE) <> floor(TRY_CAST(v AS DOUBLE)))
              THEN 'bad_type: ' || name
         WHEN v IS NOT NULL AND TRY_CAST(v AS DOUBLE) < 0 THEN 'negative_number: ' || name END;

CREATE TEMP TABLE checked_interactions AS
SELECT *,
    CASE
        WHEN malformed THEN 'malformed_line: not a JSON object'
        WHEN event_id IS NULL OR length(event_id) < 1 THEN 'missing_required: event_id'
        WHEN event_ts IS NULL THEN 'missing_required: event_ts'
        WHEN rfc3339(event_ts) IS NULL THEN 'bad_timestamp: event_ts'
        WHEN user_id IS NULL OR length(user_id) < 1 THEN 'missing_required: user_id'
        WHEN tool IS NULL OR length(tool) < 1 THEN 'missing_required: tool'
        WHEN action IS NULL THEN 'missing_required: action'
        WHEN action NOT IN ('chat', 'summarize', 'rewrite', 'generate', 'complete', 'code_edit',
                            'agent', 'review', 'search', 'other') THEN 'bad_enum: action'
        WHEN prompt_fingerprint IS NOT NULL AND NOT prompt_fingerprint RLIKE '^[0-9a-f]{16}$'
             THEN 'bad_pattern: prompt_fingerprint'
        WHEN int_problem(prompt_tokens, 'prompt_tokens') IS NOT NULL
             THEN int_problem(prompt_tokens, 'prompt_tokens')
        WHEN int_problem(completion_tokens, 'completion_tokens') IS NOT NULL
             THEN int_problem(completion_tokens, 'completion_tokens')
        WHEN output_disposition IS NOT NULL
             AND output_disposition NOT IN ('accepted', 'inserted', 'copied', 'edited', 'discarded',
                                            'ignored', 'unknown') THEN 'bad_enum: output_disposition'
        WHEN int_problem(dwell_ms, 'dwell_ms') IS NOT NULL THEN int_problem(dwell_ms, 'dwell_ms')
        WHEN artifact_modified_ts IS NOT NULL AND rfc3339(artifact_modified_ts) IS NULL
             THEN 'bad_timestamp: artifact_modified_ts'
    END AS problem
FROM landing_interactions;

CREATE TEMP TABLE checked_directory AS
SELECT *,
    CASE
        WHEN malformed THEN 'malformed_line: not a JSON object'
        WHEN user_id IS NULL OR length(user_id) < 1 THEN 'missing_required: user_id'
        WHEN org_id IS NULL OR length(org_id) < 1 THEN 'missing_required: org_id'
        WHEN valid_from IS NULL THEN 'missing_required: valid_from'
        WHEN iso_date(valid_from) IS NULL THEN 'bad_timestamp: valid_from'
        WHEN valid_to IS NOT NULL AND iso_date(valid_to) IS NULL THEN 'bad_timestamp: valid_to'
    END AS problem
FROM landing_directory;

-- shim: one table made by a UNION ALL instead of CREATE then INSERT INTO (a table here is a
-- Parquet folder written once), so it comes after both checks
CREATE TEMP TABLE quarantine AS
SELECT 'interactions' AS dataset, source_file, event_id, problem AS reason,
       split_part(problem, ':', 1) AS reason_kind
FROM checked_interactions WHERE problem IS NOT NULL
UNION ALL
SELECT 'directory', source_file, CAST(NULL AS STRING), problem, split_part(problem, ':', 1)
FROM checked_directory WHERE problem IS NOT NULL;

CREATE TEMP TABLE directory AS
SELECT DISTINCT
    md5(getvariable('pseudonym_key') || '|' ||
        CASE WHEN contains(trim(user_id), '@') THEN lower(trim(user_id)) ELSE trim(user_id) END
       ) AS user_key,
    org_id, iso_date(valid_from) AS valid_from, iso_date(valid_to) AS valid_to
FROM checked_directory WHERE problem IS NULL;

-- 2. Silver: typed, the latest delivery per (tool, event_id), pseudonymized, in the period,
--    org from the event or else from the directory row covering the event's UTC date.
CREATE TEMP TABLE silver AS
WITH typed_all AS (
    SELECT event_id, tool, rfc3339(event_ts) AS event_ts,
        md5(getvariable('pseudonym_key') || '|' ||
            CASE WHEN contains(trim(user_id), '@') THEN lower(trim(user_id)) ELSE trim(user_id) END
           ) AS user_key,
        CASE WHEN trim(org_id) <> '' THEN trim(org_id) END AS org_id,
        action, lower(prompt_fingerprint) AS prompt_fingerprint,
        CAST(TRY_CAST(prompt_tokens AS DOUBLE) AS BIGINT) AS prompt_tokens,
        output_disposition, CAST(TRY_CAST(dwell_ms AS DOUBLE) AS BIGINT) AS dwell_ms, artifact_id,
        CASE WHEN artifact_author_id IS NOT NULL THEN
            md5(getvariable('pseudonym_key') || '|' ||
                CASE WHEN contains(trim(artifact_author_id), '@') THEN lower(trim(artifact_author_id))
                     ELSE trim(artifact_author_id) END) END AS artifact_author_key,
        rfc3339(artifact_modified_ts) AS artifact_modified_ts,
        -- shim: no QUALIFY; the window in a column, filtered in the next CTE
        row_number() OVER (PARTITION BY tool, event_id ORDER BY source_file DESC) AS delivery
    FROM checked_interactions
    WHERE problem IS NULL
), typed AS (
    SELECT * FROM typed_all WHERE delivery = 1
), in_period AS (
    -- shim: to_date of a TIMESTAMP in a UTC session = CAST(timezone('UTC', ts) AS DATE)
    SELECT *, to_date(event_ts) AS event_date
    FROM typed
    WHERE event_ts >= CAST(getvariable('period_start') AS TIMESTAMP)
      AND event_ts < CAST(getvariable('period_end') AS TIMESTAMP)
), resolved AS (
    SELECT i.*, d.org_id AS dir_org,
        row_number() OVER (PARTITION BY i.tool, i.event_id ORDER BY d.valid_from DESC NULLS LAST) AS rn
    FROM in_period i
    LEFT JOIN directory d
      ON i.org_id IS NULL AND d.user_key = i.user_key AND i.event_date >= d.valid_from
         AND (d.valid_to IS NULL OR i.event_date < d.valid_to)
)
-- shim: no SELECT * EXCLUDE; the columns named
SELECT event_id, tool, event_ts, user_key, action, prompt_fingerprint, prompt_tokens,
       output_disposition, dwell_ms, artifact_id, artifact_author_key, artifact_modified_ts,
       event_date, coalesce(org_id, dir_org) AS org_id, unix_seconds(event_ts) AS ts
FROM resolved WHERE rn = 1;

-- 3. The five interaction signals (NULL = not measurable).
CREATE TEMP MACRO output_used(disp) AS coalesce(disp IN ('accepted', 'inserted', 'copied', 'edited'), false);
CREATE TEMP MACRO output_unused(disp, dwell) AS
    CASE WHEN disp IN ('discarded', 'ignored') THEN true
         WHEN disp IN ('accepted', 'inserted', 'copied', 'edited') THEN false
         WHEN dwell IS NOT NULL THEN dwell < 5000 END;

-- per action: exact nearest-rank percentiles of prompt tokens (the smallest value whose
-- cumulative share is >= q), 10th for "very short", 90th for padding
CREATE TEMP TABLE action_thresholds AS
WITH ranked AS (
    SELECT action, prompt_tokens,
           cume_dist() OVER (PARTITION BY action ORDER BY prompt_tokens) AS cd
    FROM silver WHERE prompt_tokens IS NOT NULL
)
SELECT action, min(prompt_tokens) FILTER (WHERE cd >= 0.10) AS short_below,
       min(prompt_tokens) FILTER (WHERE cd >= 0.90) AS padding_above
FROM ranked GROUP BY action;

-- repeat prompt: the same user, same artifact (or both none), a prior prompt in the last 7
-- days whose output went unused, SimHash Hamming distance <= 3. Candidates share one of four
-- 16-bit blocks exactly (pigeonhole), then the exact distance is checked.
CREATE TEMP TABLE repeat_hits AS
WITH fp0 AS (
    -- shim: no UBIGINT (conv gives NULL above 2^63): the 64 bits as two 32-bit halves
    SELECT tool, event_id, user_key, artifact_id, ts,
           output_unused(output_disposition, dwell_ms) AS unused,
           output_used(output_disposition) AS used,
           CAST(conv(substr(prompt_fingerprint, 1, 8), 16, 10) AS BIGINT) AS bits_hi,
           CAST(conv(substr(prompt_fingerprint, 9, 8), 16, 10) AS BIGINT) AS bits_lo,
           prompt_fingerprint
    FROM silver WHERE prompt_fingerprint IS NOT NULL
), fp AS (
    -- shim: unnest([0, 1, 2, 3]) -> explode(array(0, 1, 2, 3)) in a subquery
    SELECT *, substr(prompt_fingerprint, 1 + 4 * pos, 4) AS val
    FROM (SELECT *, explode(array(0, 1, 2, 3)) AS pos FROM fp0)
)
SELECT DISTINCT c.tool, c.event_id
FROM fp c JOIN fp p
  ON c.user_key = p.user_key AND c.pos = p.pos AND c.val = p.val
 AND p.ts < c.ts AND p.ts >= c.ts - 7 * 86400
 AND c.artifact_id IS NOT DISTINCT FROM p.artifact_id
WHERE NOT c.used AND p.unused
  AND bit_count(c.bits_hi ^ p.bits_hi) + bit_count(c.bits_lo ^ p.bits_lo) <= 3;

-- fragmentation: an interaction is short and lies inside a 30-minute span, starting at a
-- short one, holding >= 5 short interactions by the user on the same artifact
CREATE TEMP TABLE fragments AS
WITH s AS (
    SELECT x.tool, x.event_id, x.user_key, x.artifact_id, x.ts,
           coalesce(CAST(x.prompt_tokens < t.short_below AS INT), 0) AS short
    FROM silver x LEFT JOIN action_thresholds t USING (action)
), starts AS (
    SELECT *, CASE WHEN short = 1 AND sum(short) OVER (
                  PARTITION BY user_key, artifact_id ORDER BY ts
                  RANGE BETWEEN CURRENT ROW AND 1800 FOLLOWING) >= 5 THEN 1 ELSE 0 END AS start
    FROM s
)
SELECT tool, event_id, short = 1 AND max(start) OVER (
           PARTITION BY user_key, artifact_id ORDER BY ts
           RANGE BETWEEN 1800 PRECEDING AND CURRENT ROW) > 0 AS fragmented
FROM starts;

CREATE TEMP TABLE labels AS
WITH flags AS (
    SELECT x.tool, x.event_id, x.org_id, x.user_key,
        output_unused(x.output_disposition, x.dwell_ms) AS sig_unused_output,
        x.action = 'summarize' AND x.artifact_author_key = x.user_key
            AND unix_seconds(x.event_ts) - unix_seconds(x.artifact_modified_ts) >= 7 * 86400
            AND output_unused(x.output_disposition, x.dwell_ms) AS sig_self_summary,
        CASE WHEN x.prompt_fingerprint IS NOT NULL
             THEN r.event_id IS NOT NULL AND NOT output_used(x.output_disposition) END AS sig_repeat_prompt,
        CASE WHEN x.artifact_id IS NOT NULL AND x.prompt_tokens IS NOT NULL
             THEN f.fragmented END AS sig_fragmentation,
        x.prompt_tokens > t.padding_above
            AND output_unused(x.output_disposition, x.dwell_ms) AS sig_padding
    FROM silver x
    -- shim: ON instead of USING (Sail then cannot resolve x.action)
    LEFT JOIN action_thresholds t ON t.action = x.action
    LEFT JOIN repeat_hits r ON r.tool = x.tool AND r.event_id = x.event_id
    LEFT JOIN fragments f ON f.tool = x.tool AND f.event_id = x.event_id
)
-- 4. p = 1 - prod(1 - flag), an NA flag contributing nothing (all weights 1)
SELECT *, 1.0 - (1.0 - coalesce(CAST(sig_unused_output AS DOUBLE), 0))
              * (1.0 - coalesce(CAST(sig_self_summary AS DOUBLE), 0))
              * (1.0 - coalesce(CAST(sig_repeat_prompt AS DOUBLE), 0))
              * (1.0 - coalesce(CAST(sig_fragmentation AS DOUBLE), 0))
              * (1.0 - coalesce(CAST(sig_padding AS DOUBLE), 0)) AS theater_probability
FROM flags;

-- 5. Per org: theater share (mean p), users, interactions, suppression (k = 10 users, one user
--    over half the interactions).
CREATE TEMP TABLE org_shares AS
WITH per_user AS (
    SELECT org_id, user_key, count(*) AS n, sum(theater_probability) AS sum_p
    FROM labels WHERE org_id IS NOT NULL GROUP BY org_id, user_key
)
SELECT org_id, sum(n) AS n_interactions, count(*) AS n_users,
       sum(sum_p) / sum(n) AS theater_share,
       count(*) < 10 OR max(n) > 0.5 * sum(n) AS suppressed
FROM per_user GROUP BY org_id ORDER BY org_id;
