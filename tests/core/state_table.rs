//! `docs/STATE_TABLE.md` holds the table the code renders; this fails when they differ.

#[test]
fn the_state_table_doc_is_generated_from_the_code() {
    let path = format!("{}/docs/STATE_TABLE.md", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(&path).unwrap();
    let table = syncjob::job::table::render();
    assert!(
        doc.contains(&table),
        "{path} is out of date: paste the output of `syncjob state-table` into it\n{table}"
    );
}
