def test_zanith_db_is_fresh(zanith_db):
    zanith_db.conn.execute("create table t (id int)")
    assert zanith_db.conn.execute("select count(*) from pg_tables where schemaname='public'").fetchone() == (1,)
