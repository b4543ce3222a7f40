-- Benchmark workload, a real program no one here wrote: sqlite3 (Debian's) fills
-- an in-memory table with generated rows, indexes it twice, queries it, drops an
-- index and deletes half the rows.
--
--   sqlite3 -batch -cmd '.parameter set @rows 1000000' :memory: '.read bench/workloads/sqlite_index.sql'
--
-- `.timer on` makes sqlite3 time itself: a "Run Time: real R user U sys S" line per
-- statement; the benchmark adds them up (without sqlite3's and the tracer's
-- start-up). The data are deterministic (no random()), so every run does the same work.
.timer on
PRAGMA cache_size = -2000000;
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT, city TEXT, amount REAL, note TEXT);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < @rows)
INSERT INTO orders
SELECT x, printf('customer-%08d', (x * 7919) % 1000003), printf('city-%04d', (x * 31) % 4999),
       ((x * 2654435761) % 100000) / 100.0, printf('order %d of a generated table, padded a little', x)
FROM n;
CREATE INDEX orders_customer ON orders(customer);
CREATE INDEX orders_city_amount ON orders(city, amount);
SELECT city, count(*), round(sum(amount), 2) FROM orders GROUP BY city ORDER BY 3 DESC LIMIT 3;
SELECT count(DISTINCT customer) FROM orders;
DROP INDEX orders_customer;
DELETE FROM orders WHERE id % 2 = 0;
SELECT count(*), round(sum(amount), 2) FROM orders;
