"""Re-encrypt every EncryptedTextField value with the newest key in FIELD_ENCRYPTION_KEYS.

Rotation: put the new key first (FIELD_ENCRYPTION_KEYS=new,old), deploy, run this command,
then remove the old key. Safe to run again: every value is simply re-encrypted with the
newest key. Rows are locked batch by batch (SELECT … FOR UPDATE) so a concurrent write of a
new secret or token is never overwritten with its older value.
"""

from typing import Any

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models.functions import Cast

from hrmos.fields import encrypted_fields, field_encryption


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field of every model with the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction (default 500)")
        parser.add_argument("--dry-run", action="store_true", help="count the values without changing them")

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        multi = field_encryption()  # raises ImproperlyConfigured when the keys are missing or invalid
        total = 0
        for model, field in encrypted_fields():
            count = self._rotate_field(model, field, multi, batch_size, dry_run)
            total += count
            self.stdout.write(f"{model._meta.label}.{field.name}: {count} value(s)")
        verb = "would be re-encrypted" if dry_run else "re-encrypted with the newest key"
        self.stdout.write(self.style.SUCCESS(f"{total} value(s) {verb}."))

    def _rotate_field(self, model: type[models.Model], field: models.Field, multi: Any, batch: int, dry: bool) -> int:
        manager = model._base_manager
        # The raw column, bypassing the field's decryption: Cast gives it a plain TextField.
        raw = Cast(field.attname, output_field=models.TextField())
        done = 0
        last_pk: Any = None
        while True:
            with transaction.atomic():
                queryset = manager.annotate(_ciphertext=raw).exclude(_ciphertext="").exclude(_ciphertext=None)
                if last_pk is not None:
                    queryset = queryset.filter(pk__gt=last_pk)
                rows = list(queryset.order_by("pk").select_for_update().values_list("pk", "_ciphertext")[:batch])
                if not rows:
                    return done
                for pk, ciphertext in rows:
                    try:
                        rotated = multi.rotate(ciphertext.encode("ascii")).decode("ascii")
                    except (InvalidToken, UnicodeError) as exc:
                        raise CommandError(
                            f"{model._meta.label}.{field.name} (pk={pk}) cannot be decrypted with any key in "
                            "FIELD_ENCRYPTION_KEYS; nothing after it was changed. Add the missing key and run again."
                        ) from exc
                    if not dry:
                        manager.filter(pk=pk).update(**{field.attname: models.Value(rotated, models.TextField())})
                    done += 1
                last_pk = rows[-1][0]
