CREATE TABLE `event_input_batches` (
	`first_seq` integer PRIMARY KEY NOT NULL,
	`last_seq` integer NOT NULL,
	`data` blob NOT NULL
);
--> statement-breakpoint
ALTER TABLE `envelopes` ADD `first_seq` integer;--> statement-breakpoint
ALTER TABLE `envelopes` ADD `last_seq` integer;