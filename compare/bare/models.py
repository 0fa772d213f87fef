"""The shop's product table as the twins read it: an unmanaged model, no migrations."""

from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.IntegerField()
    active = models.BooleanField()

    class Meta:
        managed = False
        db_table = "shop_product"

    def __str__(self) -> str:
        return self.name
