//! Media files: the content-addressed blob store on disk, checking and processing photos, and
//! reading video containers. No HTTP and no database here; `service::media` ties them together.

pub mod blobs;
pub mod container;
pub mod photo;
