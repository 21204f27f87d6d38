CREATE TABLE `event_outputs` (
	`seq` integer PRIMARY KEY NOT NULL,
	`output` text NOT NULL,
	FOREIGN KEY (`seq`) REFERENCES `events`(`seq`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
-- Keep every translation already made: pending deliveries are sent from here from now on.
INSERT INTO `event_outputs` (`seq`, `output`) SELECT `seq`, `output` FROM `events` WHERE `output` IS NOT NULL;
--> statement-breakpoint
ALTER TABLE `events` DROP COLUMN `output`;