from django.urls import path

from screening import views

app_name = "screening"
urlpatterns = [
    path("", views.review_list, name="review"),
    path("hits/<int:pk>/decide", views.hit_decision, name="decide"),
]
