//! Files on records: checked from their bytes (which must agree with the name), cut off at
//! the size limit, served as downloads only to those who see the record, read for search in
//! a background job under limits (a DOCX zip bomb is refused with the reason), removed and
//! purged with their blob references, on the API and on the pages.

use std::io::Write;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// A one-page PDF showing `text`, which also carries a JavaScript action to run on opening.
pub(crate) fn pdf_with_script(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 24 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 6 0 R >> >> >>".into(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Action /S /JavaScript /JS (app.alert(1);) >>".into(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A DOCX whose document is `document_xml`.
fn docx(document_xml: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("[Content_Types].xml", deflated).unwrap();
    zip.write_all(b"<Types/>").unwrap();
    zip.start_file("word/document.xml", deflated).unwrap();
    zip.write_all(document_xml).unwrap();
    zip.finish().unwrap().into_inner()
}

pub(crate) async fn attach(
    app: &TestApp,
    client: &reqwest::Client,
    record: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let csrf = app.api_csrf(client).await;
    let name: String = name
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    client
        .post(app.url(&format!("/api/v1/records/{record}/attachments?name={name}")))
        .header("x-csrf-token", csrf)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap()
}

/// Creates a record as `client`; its id.
async fn create(app: &TestApp, client: &reqwest::Client, body: Value) -> String {
    let made =
        crate::matching::send(app, client, Method::POST, "/api/v1/records", Some(body)).await;
    assert_eq!(made.status(), 201);
    let made: Value = made.json().await.unwrap();
    made["data"]["id"].as_str().unwrap().to_string()
}

async fn run_jobs(app: &TestApp) {
    while app.queue.run_one_pending().await.unwrap().is_some() {}
}

async fn files_of(app: &TestApp, client: &reqwest::Client, record: &str) -> Value {
    crate::helpers::get_json(
        client,
        &app.url(&format!("/api/v1/records/{record}/attachments")),
    )
    .await
}

#[tokio::test]
async fn files_are_checked_served_to_whom_may_see_and_read_for_search() {
    let (app, owner, members) = crate::matching::community(&["ann", "bob", "cyd"]).await;
    let [(ann, _), (bob, bob_id), (cyd, _)] = &members[..] else {
        unreachable!()
    };
    let made = crate::matching::send(
        &app,
        ann,
        Method::POST,
        "/api/v1/records",
        Some(
            json!({"title": "Roof", "direction": "incoming", "visibility": "people",
                    "assigneeIds": [bob_id]}),
        ),
    )
    .await;
    assert_eq!(made.status(), 201);
    let made: Value = made.json().await.unwrap();
    let record = made["data"]["id"].as_str().unwrap().to_string();

    // Text, a PDF that carries a script, a DOCX: stored, their text pending.
    let minutes = "The committee approved the zeppelin budget.\n"
        .as_bytes()
        .to_vec();
    let resp = attach(&app, ann, &record, "minutes.txt", minutes.clone()).await;
    assert_eq!(resp.status(), 201);
    let txt: Value = resp.json().await.unwrap();
    assert_eq!(txt["data"]["kind"], "txt");
    assert_eq!(txt["data"]["text"], "pending");
    let pdf = pdf_with_script("Invoice for the harmonium tuning");
    let resp = attach(&app, bob, &record, "invoice.pdf", pdf.clone()).await;
    assert_eq!(resp.status(), 201, "an assignee adds files");
    let pdf_file: Value = resp.json().await.unwrap();
    let document = docx(
        br#"<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>Quarterly marimba report</w:t></w:r></w:p></w:body></w:document>"#,
    );
    assert_eq!(
        attach(&app, ann, &record, "report.docx", document)
            .await
            .status(),
        201
    );
    // A path in the name is cut away; the name is kept for the download.
    let resp = attach(
        &app,
        ann,
        &record,
        "../../etc/passwd.txt",
        b"not secret".to_vec(),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let cleaned: Value = resp.json().await.unwrap();
    assert_eq!(cleaned["data"]["name"], "passwd.txt");

    // Refused, saying why, and nothing kept: bytes that are not what the name says, a kind
    // records do not take, 10 MiB + 1 byte, someone who cannot see the record.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let resp = attach(&app, ann, &record, "scan.pdf", png).await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["fields"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("a PNG image")),
        "{body}"
    );
    let resp = attach(&app, ann, &record, "setup.exe", b"MZ\x90\0".to_vec()).await;
    assert_eq!(resp.status(), 422);
    let resp = attach(
        &app,
        ann,
        &record,
        "big.txt",
        vec![b'a'; 10 * 1024 * 1024 + 1],
    )
    .await;
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "TOO_LARGE", "{body}");
    assert!(body["error"].as_str().unwrap().contains("10 MiB"), "{body}");
    let resp = attach(&app, cyd, &record, "mine.txt", b"hello".to_vec()).await;
    assert_eq!(resp.status(), 404);
    let list = files_of(&app, ann, &record).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 4, "{list}");

    // Read in the background, then found by search by those who see the record.
    run_jobs(&app).await;
    let list = files_of(&app, ann, &record).await;
    for f in list["data"].as_array().unwrap() {
        assert_eq!(f["text"], "read", "{f}");
    }
    app.index_search().await;
    for word in ["zeppelin", "harmonium", "marimba"] {
        for (client, total) in [(ann, 1), (bob, 1), (cyd, 0), (&owner, 1)] {
            let (status, body) =
                crate::search::search(&app, client, &format!("q={word}&kind=record")).await;
            assert_eq!(status, 200);
            assert_eq!(body["pagination"]["total"], total, "{word}: {body}");
        }
    }

    // Downloads: to whom may see the record, as an attachment that runs nothing.
    let url = app.url(pdf_file["data"]["downloadUrl"].as_str().unwrap());
    let resp = ann.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"invoice.pdf\"; filename*=UTF-8''invoice.pdf"
    );
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &pdf[..]);
    assert_eq!(cyd.get(&url).send().await.unwrap().status(), 404);
    let page_url = url.replace("/api/v1/records", "/records");
    let resp = bob.get(&page_url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(
        resp.headers()["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    assert_eq!(cyd.get(&page_url).send().await.unwrap().status(), 404);
    let passwd = app.url(cleaned["data"]["downloadUrl"].as_str().unwrap());
    let resp = ann.get(&passwd).send().await.unwrap();
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename=\"passwd.txt\"")
    );

    // Each file is a change: a version and a history line.
    let got = crate::helpers::get_json(ann, &app.url(&format!("/api/v1/records/{record}"))).await;
    assert_eq!(got["data"]["version"], 5, "{got}");
    let history =
        crate::helpers::get_json(ann, &app.url(&format!("/api/v1/records/{record}/history"))).await;
    let lines: Vec<(String, String)> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["field"] == "attachment")
        .map(|c| {
            (
                c["old"].as_str().unwrap().into(),
                c["new"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(lines.len(), 4, "{history}");
    assert!(
        lines.contains(&(String::new(), "invoice.pdf".to_string())),
        "{history}"
    );

    // Removing: not by an assignee for another's file, by the owner; the text goes too.
    let txt_url = format!(
        "/api/v1/records/{record}/attachments/{}",
        txt["data"]["id"].as_str().unwrap()
    );
    let sha = hearth::domain::hex::decode_sha256(txt["data"]["sha256"].as_str().unwrap()).unwrap();
    let txt_bytes = hearth::media::blobs::BlobStore::open(&app.data_dir())
        .unwrap()
        .path_of(&sha);
    assert!(txt_bytes.exists());
    let resp = crate::matching::send(&app, bob, Method::DELETE, &txt_url, None).await;
    assert_eq!(resp.status(), 403);
    let resp = crate::matching::send(&app, cyd, Method::DELETE, &txt_url, None).await;
    assert_eq!(resp.status(), 404);
    let resp = crate::matching::send(&app, ann, Method::DELETE, &txt_url, None).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        ann.get(app.url(&txt_url)).send().await.unwrap().status(),
        404
    );
    app.index_search().await;
    let (_, body) = crate::search::search(&app, ann, "q=zeppelin&kind=record").await;
    assert_eq!(body["pagination"]["total"], 0, "{body}");
    // Its bytes went at once (no other record holds them).
    assert!(!txt_bytes.exists());
    // An assignee removes a file they added.
    let pdf_url = format!(
        "/api/v1/records/{record}/attachments/{}",
        pdf_file["data"]["id"].as_str().unwrap()
    );
    let resp = crate::matching::send(&app, bob, Method::DELETE, &pdf_url, None).await;
    assert_eq!(resp.status(), 204);

    // A record every member sees: a member not on it sees its files but adds none.
    let open = create(
        &app,
        ann,
        json!({"title": "Open letter", "direction": "outgoing"}),
    )
    .await;
    assert_eq!(
        attach(&app, ann, &open, "letter.txt", b"Dear all".to_vec())
            .await
            .status(),
        201
    );
    let resp = attach(&app, cyd, &open, "mine.txt", b"hello".to_vec()).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(
        files_of(&app, cyd, &open).await["data"][0]["name"],
        "letter.txt"
    );
    // Sent as a form to the API, the envelope is not taken for the file.
    let csrf = app.api_csrf(ann).await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt"),
    );
    let resp = ann
        .post(app.url(&format!("/api/v1/records/{open}/attachments?name=x.txt")))
        .header("x-csrf-token", csrf)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    // A file removed before its text job runs: the job finds nothing to do.
    let resp = attach(&app, ann, &open, "brief.txt", b"short".to_vec()).await;
    let brief: Value = resp.json().await.unwrap();
    let brief_url = format!(
        "/api/v1/records/{open}/attachments/{}",
        brief["data"]["id"].as_str().unwrap()
    );
    let resp = crate::matching::send(&app, ann, Method::DELETE, &brief_url, None).await;
    assert_eq!(resp.status(), 204);
    run_jobs(&app).await;
    assert_eq!(
        files_of(&app, ann, &open).await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // In the trash, a record's files are not listed or served.
    let letter = files_of(&app, ann, &open).await["data"][0]["downloadUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = crate::matching::send(
        &app,
        &owner,
        Method::DELETE,
        &format!("/api/v1/records/{open}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), 204);
    for client in [ann, &owner] {
        let list = client
            .get(app.url(&format!("/api/v1/records/{open}/attachments")))
            .send()
            .await
            .unwrap();
        assert_eq!(list.status(), 404);
        assert_eq!(
            client.get(app.url(&letter)).send().await.unwrap().status(),
            404
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn hostile_documents_are_stored_but_their_text_is_refused_with_the_reason() {
    let (app, owner, members) = crate::matching::community(&["ann"]).await;
    let (ann, _) = &members[0];
    let record = create(
        &app,
        ann,
        json!({"title": "Odd files", "direction": "incoming"}),
    )
    .await;

    // 60 MiB of text packed into a few kilobytes.
    let mut bomb = b"<w:document><w:body><w:p><w:t>".to_vec();
    bomb.extend(std::iter::repeat_n(b'a', 60 * 1024 * 1024));
    bomb.extend(b"</w:t></w:p></w:body></w:document>");
    let bomb = docx(&bomb);
    assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
    assert_eq!(
        attach(&app, ann, &record, "bomb.docx", bomb).await.status(),
        201
    );
    // XML nested past any real document.
    let deep = "<a>".repeat(1_000) + &"</a>".repeat(1_000);
    assert_eq!(
        attach(&app, ann, &record, "deep.docx", docx(deep.as_bytes()))
            .await
            .status(),
        201
    );
    // A zip that is not a Word document, and a PDF that does not parse.
    let not_word = {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("hello.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"hi").unwrap();
        zip.finish().unwrap().into_inner()
    };
    let resp = attach(&app, ann, &record, "letter.docx", not_word).await;
    assert_eq!(resp.status(), 422);
    let broken = b"%PDF-1.7\n1 0 obj << /Length 99999 >> stream\ngarbage".to_vec();
    assert_eq!(
        attach(&app, ann, &record, "broken.pdf", broken)
            .await
            .status(),
        201
    );
    run_jobs(&app).await;
    let list = files_of(&app, ann, &record).await;
    // (Files added in the same millisecond of the test clock list in any order.)
    let notes: std::collections::HashMap<&str, (&str, &str)> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let note = (f["text"].as_str().unwrap(), f["textNote"].as_str().unwrap());
            (f["name"].as_str().unwrap(), note)
        })
        .collect();
    assert_eq!(notes.len(), 3, "{list}");
    for (name, why) in [
        ("bomb.docx", "zip bomb"),
        ("deep.docx", "nests deeper"),
        ("broken.pdf", "PDF could not be read"),
    ] {
        assert_eq!(notes[name].0, "refused", "{name}");
        assert!(notes[name].1.contains(why), "{name}: {}", notes[name].1);
    }
    // The record's page says so too.
    let page = crate::helpers::get_text(ann, &app.url(&format!("/records/{record}"))).await;
    assert!(page.contains("bomb.docx"), "{page}");
    assert!(page.contains("zip bomb"), "{page}");

    // The size limit is the admins' setting.
    let settings_url = "/api/v1/admin/records/settings";
    let mut settings =
        crate::helpers::get_json(&owner, &app.url(settings_url)).await["data"].clone();
    settings["attachmentMaxMib"] = json!(1);
    let resp = crate::matching::send(&app, &owner, Method::PUT, settings_url, Some(settings)).await;
    assert_eq!(resp.status(), 200);
    let resp = attach(&app, ann, &record, "a.txt", vec![b'a'; 1024 * 1024 + 1]).await;
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("1 MiB"), "{body}");
    let resp = attach(&app, ann, &record, "a.txt", vec![b'a'; 1024 * 1024]).await;
    assert_eq!(resp.status(), 201, "exactly the limit is taken");

    // Trashed and purged: the files' blobs are let go with the record.
    let bomb_file = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "bomb.docx")
        .unwrap();
    let sha = hearth::domain::hex::decode_sha256(bomb_file["sha256"].as_str().unwrap()).unwrap();
    let refs = |app: &TestApp| {
        let store = app.store.clone();
        async move { store.read(move |rx| rx.blobs().refs(&sha)).await.unwrap() }
    };
    assert_eq!(refs(&app).await, 1);
    let bytes = hearth::media::blobs::BlobStore::open(&app.data_dir())
        .unwrap()
        .path_of(&sha);
    assert!(bytes.exists());
    run_jobs(&app).await;
    let resp = crate::matching::send(
        &app,
        &owner,
        Method::DELETE,
        &format!("/api/v1/records/{record}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(refs(&app).await, 1, "kept while in the trash");
    app.clock
        .advance(std::time::Duration::from_secs(31 * 24 * 3600));
    let purged = app.records.purge_trash().await.unwrap();
    assert_eq!(purged, 1);
    let files = app
        .store
        .read(move |rx| rx.record_attachments().of(record.parse().unwrap()))
        .await
        .unwrap();
    assert!(files.is_empty());
    assert_eq!(refs(&app).await, 0);
    assert!(!bytes.exists(), "deleted with the record");
    app.stop().await;
}

/// The record's page: the form adds a file (its `csrf` part first), the list links to the
/// download, and a removal leaves a line in the history.
#[tokio::test]
async fn files_work_on_the_record_page() {
    let (app, _owner, members) = crate::matching::community(&["ann"]).await;
    let (ann, _) = &members[0];
    let record = create(
        &app,
        ann,
        json!({"title": "Minutes", "direction": "internal"}),
    )
    .await;
    let page_url = app.url(&format!("/records/{record}"));
    let csrf = TestApp::csrf_from(ann, &page_url).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"a,b\n1,2\n".to_vec()).file_name("figures.csv"),
        );
    let resp = ann
        .post(app.url(&format!("/records/{record}/attachments")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let page = crate::helpers::get_text(ann, &page_url).await;
    assert!(page.contains("figures.csv attached."), "{page}");
    let re = regex::Regex::new(r#"href="(/records/[^"]+/attachments/[^"]+)" download"#).unwrap();
    let link = re.captures(&page).expect("a download link")[1].to_string();
    let resp = ann.get(app.url(&link)).send().await.unwrap();
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"a,b\n1,2\n");
    // The member's data export lists the files they added.
    let export = crate::helpers::get_json(ann, &app.url("/account/export")).await;
    assert_eq!(
        export["records"]["records"][0]["my_files"][0]["name"], "figures.csv",
        "{}",
        export["records"]
    );

    // A file over the 1 MiB other forms may send goes through the page's form too.
    let big = "a,b\n".repeat(600 * 1024).into_bytes();
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(big).file_name("big.csv"),
        );
    let resp = ann
        .post(app.url(&format!("/records/{record}/attachments")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);

    // A file whose bytes are not what its name says: the page says why.
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.7\n".to_vec()).file_name("figures.csv"),
        );
    let resp = ann
        .post(app.url(&format!("/records/{record}/attachments")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("is named as a CSV file but its bytes are a PDF"),
        "{page}"
    );

    // Without the token first, nothing is taken.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt"),
    );
    let resp = ann
        .post(app.url(&format!("/records/{record}/attachments")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    let resp = ann
        .post(app.url(&format!("{link}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let page = crate::helpers::get_text(ann, &page_url).await;
    assert!(page.contains("File removed."), "{page}");
    assert!(page.contains("removed the file “figures.csv”"), "{page}");
    app.stop().await;
}

/// What one member can make the server keep is bounded: 100 files a day at the default size
/// limit (1,000 MiB worth; fewer as the limit grows), 50 a record.
#[tokio::test]
async fn a_member_adds_so_many_files_a_day_and_a_record_takes_so_many() {
    use hearth::service::error::ServiceError;
    use hearth::service::records::files_per_day;
    assert_eq!(files_per_day(10), 100);
    assert_eq!(files_per_day(100), 10);
    assert_eq!(files_per_day(1), 100);
    let (app, _owner, members) = crate::matching::community(&["ann"]).await;
    let (ann, _) = &members[0];
    let actor = crate::records::actor(&app, "ann").await;
    let add = |record: hearth::domain::ids::RecordId, n: u32| {
        let (records, actor) = (app.records.clone(), actor.clone());
        async move {
            let mut incoming = records
                .begin_attachment(&actor, record, &format!("note {n}.txt"))
                .await?;
            incoming.push(format!("note {n}").as_bytes()).await?;
            records.finish_attachment(&actor, incoming).await
        }
    };
    let mut ids = Vec::new();
    for title in ["One", "Two", "Three"] {
        let id = create(&app, ann, json!({"title": title, "direction": "internal"})).await;
        ids.push(id.parse().unwrap());
    }
    for n in 0..50 {
        add(ids[0], n).await.unwrap();
    }
    let full = add(ids[0], 50).await.unwrap_err();
    assert!(
        matches!(&full, ServiceError::Conflict(r) if r.message.contains("50 files")),
        "{full:?}"
    );
    for n in 50..files_per_day(10) {
        add(ids[1 + (n as usize % 2)], n).await.unwrap();
    }
    let refused = add(ids[2], 0).await.unwrap_err();
    assert!(
        matches!(refused, ServiceError::RateLimited(_)),
        "{refused:?}"
    );
    app.stop().await;
}

/// The reader the server runs for each file: the file's text as one JSON line, under its own
/// limits; a kind it does not read is refused on the command line.
#[test]
fn the_reader_process_prints_what_it_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("letter.pdf");
    std::fs::write(&file, pdf_with_script("Minutes of the tuba society")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["read-text", "pdf"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        answer["Whole"]
            .as_str()
            .is_some_and(|t| t.contains("Minutes of the tuba society")),
        "{answer}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["read-text", "exe"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exe is not a kind of file"));
}
