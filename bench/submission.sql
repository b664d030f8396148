-- One answer submission written alone, one transaction at a time: what PostgreSQL does when
-- each request brings its own statements (the service's path before group commit, captured
-- with log_statement): the claim of the Idempotency-Key without a flush wait, the resident's
-- row, the participation, the response with its 20 answer items in one insert, the durable
-- commit, and the stored answer without a flush wait. The service now batches the claims,
-- the submissions and the answers of concurrent requests (src/batch.rs); the bench sets the
-- two side by side. :survey and :resident are set by bench/run.sh; every transaction is a new
-- respondent.
\set k random(1, 2000000000)
BEGIN;
SET LOCAL synchronous_commit TO OFF;
INSERT INTO idempotency_keys (id, user_id, key, fingerprint, state, response_status, response_content_type, response_body, created_at)
    VALUES (gen_random_uuid(), gen_random_uuid(), 'pgbench-' || :k, md5(:k::text) || md5(:k::text), 'in_progress', NULL, NULL, NULL, now())
    RETURNING id AS claim \gset
COMMIT;
SELECT * FROM residents WHERE id = ':resident';
BEGIN;
INSERT INTO survey_participations (survey_id, resident_id, keep_informed, on_day)
    VALUES (':survey', gen_random_uuid(), false, current_date);
INSERT INTO survey_responses (id, survey_id, version, respondent_id, sub_district, answers, submitted_at)
    VALUES (gen_random_uuid(), ':survey', 1, gen_random_uuid(), 'shichahai', '{"age":{"option":"a2"},"channel":{"options":["wx","app"]},"comment":"希望增加夜间照明","grid":{"r1":["good"],"r2":["ok"],"r3":["good"]},"housing":{"option":"own"},"last_visit":"2026-10-08","nps":9.0,"online":{"option":"y"},"overall":4.0,"rank":["x2","x1"],"topics":{"options":["parking","greening"]},"visits":3.0,"volunteer":{"option":"n"},"where":{"community":"前海东沿社区","sub_district":"shichahai"},"years":12.0}', now())
    RETURNING id AS response \gset
INSERT INTO survey_answer_items (response_id, survey_id, question_id, row_id, option_id, num, text) VALUES
    (':response', ':survey', 'online', NULL, 'y', NULL, NULL),
    (':response', ':survey', 'grid', 'r1', 'good', NULL, NULL),
    (':response', ':survey', 'grid', 'r2', 'ok', NULL, NULL),
    (':response', ':survey', 'grid', 'r3', 'good', NULL, NULL),
    (':response', ':survey', 'housing', NULL, 'own', NULL, NULL),
    (':response', ':survey', 'topics', NULL, 'parking', NULL, NULL),
    (':response', ':survey', 'topics', NULL, 'greening', NULL, NULL),
    (':response', ':survey', 'years', NULL, NULL, 12, NULL),
    (':response', ':survey', 'age', NULL, 'a2', NULL, NULL),
    (':response', ':survey', 'where', NULL, 'shichahai', NULL, '前海东沿社区'),
    (':response', ':survey', 'rank', NULL, 'x2', 1, NULL),
    (':response', ':survey', 'rank', NULL, 'x1', 2, NULL),
    (':response', ':survey', 'nps', NULL, NULL, 9, NULL),
    (':response', ':survey', 'channel', NULL, 'wx', NULL, NULL),
    (':response', ':survey', 'channel', NULL, 'app', NULL, NULL),
    (':response', ':survey', 'visits', NULL, NULL, 3, NULL),
    (':response', ':survey', 'last_visit', NULL, NULL, NULL, '2026-10-08'),
    (':response', ':survey', 'comment', NULL, NULL, NULL, '希望增加夜间照明'),
    (':response', ':survey', 'overall', NULL, NULL, 4, NULL),
    (':response', ':survey', 'volunteer', NULL, 'n', NULL, NULL);
COMMIT;
BEGIN;
SET LOCAL synchronous_commit TO OFF;
UPDATE idempotency_keys SET state = 'done', response_status = 201, response_content_type = 'application/json',
    response_body = convert_to('{"survey_id":":survey","version":1,"submitted_at":"2026-11-27T11:17:25.592310079Z","response_id":":response"}', 'UTF8')
    WHERE id = ':claim' AND state = 'in_progress';
COMMIT;
