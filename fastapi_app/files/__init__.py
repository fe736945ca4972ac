"""Files infrastructure, below the services and the tasks: where uploads and stored files live
(storage), what a file is (type sniffing) and how upload bytes reach disk (uploads)."""
