"""Every statement on ingestion_job, ingestion_chunk and ingestion_rejection, and the job status transitions."""
