from django.urls import path

from audits import exports, rule_version_views, views

app_name = "audits"
urlpatterns = [
    path("flags/", views.flag_list, name="flag_list"),
    path("flags.<str:fmt>", exports.flag_list_export, name="flag_list_export"),
    path("flags/<int:pk>/", views.flag_detail, name="flag_detail"),
    path("flags/<int:pk>/answers/<int:note_pk>/file", views.answer_attachment, name="answer_attachment"),
    # rule versions: drafts, backtests, publication (issue 19 item 3)
    path("rules/", rule_version_views.rule_list, name="rule_list"),
    path("rules/<str:code>/", rule_version_views.rule_detail, name="rule_detail"),
    path("rules/<str:code>/draft", rule_version_views.rule_draft, name="rule_draft"),
    path("rules/<str:code>/versions/<int:number>/backtest", rule_version_views.rule_backtest, name="rule_backtest"),
    path("rules/<str:code>/versions/<int:number>/publish", rule_version_views.rule_publish, name="rule_publish"),
]
